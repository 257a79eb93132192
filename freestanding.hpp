// SPDX-License-Identifier: GPL-2.0
//
// What the C++ core would take from the standard library, written for a
// freestanding kernel build: move(), exchange(), errors as values (ErrorOr,
// TRY) and storage for a global whose lifetime the module controls
// (ManualLifetime). No kernel headers, no C; the static_asserts at the end
// run these at compile time, so a broken utility fails the build.

#ifndef BPF_PRELOAD_FREESTANDING_HPP
#define BPF_PRELOAD_FREESTANDING_HPP

// The placement form of operator new, as <new> declares it: the one form
// the core uses, to construct into storage it owns.
inline void *operator new(decltype(sizeof(0)) /*size*/, void *where) noexcept
{
	return where;
}

namespace freestanding {

template <typename T> struct remove_reference {
	using type = T;
};
template <typename T> struct remove_reference<T &> {
	using type = T;
};

template <typename T>
constexpr typename remove_reference<T>::type &&move(T &&value)
{
	return static_cast<typename remove_reference<T>::type &&>(value);
}

template <typename T>
constexpr T &&forward(typename remove_reference<T>::type &value)
{
	return static_cast<T &&>(value);
}

template <typename T, typename U = T>
constexpr T exchange(T &object, U &&replacement)
{
	T old = move(object);
	object = forward<U>(replacement);
	return old;
}

// A failed step, named for the error message, and its errno: negative,
// as the kernel returns it.
struct Error {
	const char *step;
	int code;
};

// Either a T or an Error, never both and never neither; which one is kept
// in its own flag, so no value of T or of the errno stands for "no error",
// and T needs no default constructor. clang-tidy would have a variant type
// here: this union is one, is_error_ saying which member is alive.
// NOLINTBEGIN(cppcoreguidelines-pro-type-union-access,cppcoreguidelines-pro-type-member-init)
template <typename T> class [[nodiscard]] ErrorOr {
public:
	constexpr ErrorOr(T &&value) : value_(move(value)), is_error_(false) {}
	constexpr ErrorOr(Error error) : error_(error), is_error_(true) {}
	// Returned and unwrapped as prvalues only: never copied or moved.
	ErrorOr(const ErrorOr &) = delete;
	ErrorOr &operator=(const ErrorOr &) = delete;
	ErrorOr(ErrorOr &&) = delete;
	ErrorOr &operator=(ErrorOr &&) = delete;
	constexpr ~ErrorOr()
	{
		if (!is_error_)
			value_.~T();
	}

	[[nodiscard]] constexpr bool is_error() const { return is_error_; }
	[[nodiscard]] constexpr Error error() const { return error_; }
	constexpr T release_value() { return move(value_); }

private:
	union {
		T value_;
		Error error_;
	};
	bool is_error_;
};
// NOLINTEND(cppcoreguidelines-pro-type-union-access,cppcoreguidelines-pro-type-member-init)

template <> class [[nodiscard]] ErrorOr<void> {
public:
	constexpr ErrorOr() = default;
	constexpr ErrorOr(Error error) : error_(error), is_error_(true) {}

	[[nodiscard]] constexpr bool is_error() const { return is_error_; }
	[[nodiscard]] constexpr Error error() const { return error_; }
	constexpr void release_value() const {}

private:
	Error error_{};
	bool is_error_ = false;
};

// Evaluates an ErrorOr expression; returns its error from the enclosing
// function, or yields its value.
#define TRY(expression)                                                        \
	({                                                                     \
		auto _result = (expression);                                   \
		if (_result.is_error())                                        \
			return _result.error();                                \
		_result.release_value();                                       \
	})

// Storage for one T with static storage duration but no global constructor
// or destructor: the owner constructs the T with emplace() and destroys it
// with reset(), at the points it chooses (module init and exit).
template <typename T> class ManualLifetime {
public:
	constexpr ManualLifetime() = default;
	ManualLifetime(const ManualLifetime &) = delete;
	ManualLifetime &operator=(const ManualLifetime &) = delete;
	ManualLifetime(ManualLifetime &&) = delete;
	ManualLifetime &operator=(ManualLifetime &&) = delete;
	// Trivial, or the compiler would register a destructor call at exit.
	~ManualLifetime() = default;

	template <typename... Args> T &emplace(Args &&...args)
	{
		reset();
		object_ = new (static_cast<void *>(&storage_))
			T(forward<Args>(args)...);
		return *object_;
	}

	void reset()
	{
		if (T *object = exchange(object_, nullptr))
			object->~T();
	}

	[[nodiscard]] T &get() { return *object_; }

private:
	alignas(T) unsigned char storage_[sizeof(T)] = {};
	// The object in storage_, as placement new returned it; null if none.
	T *object_ = nullptr;
};

// -- Compile-time tests ----------------------------------------------------

namespace test {

// A type with no default constructor, that can only be moved.
class MoveOnly {
public:
	constexpr explicit MoveOnly(int v) : value_(v) {}
	constexpr MoveOnly(MoveOnly &&other) noexcept
	    : value_(exchange(other.value_, 0))
	{
	}
	MoveOnly(const MoveOnly &) = delete;
	MoveOnly &operator=(const MoveOnly &) = delete;
	MoveOnly &operator=(MoveOnly &&) = delete;
	constexpr ~MoveOnly() = default;
	[[nodiscard]] constexpr int value() const { return value_; }

private:
	int value_;
};

constexpr ErrorOr<MoveOnly> make(int v)
{
	if (v < 0)
		return Error{.step = "make", .code = v};
	return MoveOnly(v);
}

// TRY() is a statement expression, which constant evaluation does not
// take (g++ 12 even crashes on it): spelt out here, used by the module.
constexpr ErrorOr<int> twice(int v)
{
	ErrorOr<MoveOnly> made = make(v);
	if (made.is_error())
		return made.error();
	const MoveOnly m = made.release_value();
	return 2 * m.value();
}

constexpr ErrorOr<void> check(int v)
{
	if (const ErrorOr<MoveOnly> made = make(v); made.is_error())
		return made.error();
	return {};
}

static_assert(twice(21).release_value() == 42);
static_assert(twice(-12).is_error() && twice(-12).error().code == -12);
// A value of 0 is a value, an errno of 0 still an error: the flag decides.
static_assert(!twice(0).is_error() && twice(0).release_value() == 0);
static_assert(ErrorOr<int>(Error{.step = "zero", .code = 0}).is_error());
static_assert(!check(0).is_error() && check(-5).error().code == -5);
static_assert(!ErrorOr<void>().is_error());

constexpr int exchanged()
{
	int a = 1;
	const int old = exchange(a, 2);
	return (old * 10) + a;
}
static_assert(exchanged() == 12);

} // namespace test

} // namespace freestanding

#endif // BPF_PRELOAD_FREESTANDING_HPP
