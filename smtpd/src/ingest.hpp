#pragma once
// The end of an accepted DATA: prepend our Received header, summarise the message (GMime) on the
// calling io thread, and store one copy per recipient through the group-commit writer. The
// returned outcome is ok only once the transaction is on disk.
#include <boost/asio/awaitable.hpp>

#include "smtpd/proto/actions.hpp"

namespace postern::storage {
class Writer;
}

namespace postern::smtp {

// `writer` must outlive the coroutine.
boost::asio::awaitable<StoreOutcome> ingest(StoreMessage message, storage::Writer& writer);

}  // namespace postern::smtp
