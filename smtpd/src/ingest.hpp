#pragma once
// The end of an accepted DATA: mail authentication (when on), then our Received and
// Authentication-Results header fields in front (forged ones claiming our authserv-id removed),
// a summary of the message (GMime; a large one on the CPU pool), and one stored copy per
// recipient through the group-commit writer. The returned outcome is ok only once the transaction
// is on disk; a DMARC p=reject failure returns a refusal and stores nothing.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "auth_check.hpp"
#include "services.hpp"
#include "smtpd/proto/actions.hpp"

namespace postern::smtp {

// `services` must outlive the coroutine. `spf` is the check started at this transaction's MAIL
// FROM (null when checks are off, or when none was started: then one starts here). `executor` is
// the connection's.
boost::asio::awaitable<StoreOutcome> ingest(StoreMessage message, Services& services,
                                            std::shared_ptr<SpfCheck> spf,
                                            boost::asio::any_io_executor executor);

}  // namespace postern::smtp
