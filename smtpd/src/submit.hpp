#pragma once
// The end of an accepted transaction on a submission listener (RFC 6409): the From header must
// be the authenticated mailbox's address (553 5.7.1 otherwise); our Received field goes in
// front, and Date and Message-ID when the message has none (RFC 6409 §8); then one writer job
// stores the Sent copy and queues one delivery per recipient (storage::enqueue_outbound,
// source "submission"). The outcome is ok only once that transaction is on disk; the queue
// runner delivers later.
#include <boost/asio/awaitable.hpp>

#include "services.hpp"
#include "smtpd/proto/actions.hpp"

namespace postern::smtp {

// `message.submitter` must be set. `services` must outlive the coroutine.
boost::asio::awaitable<StoreOutcome> submit(StoreMessage message, Services& services);

}  // namespace postern::smtp
