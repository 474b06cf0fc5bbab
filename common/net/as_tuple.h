// The completion token of amlfs's Asio coroutines: `co_await
// op(..., kTuple)` gives the operation's error code (and result) as a tuple
// instead of throwing it.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace amlfs {

inline constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace amlfs
