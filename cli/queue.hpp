#pragma once
// `postern queue list|show|retry|delete` and `postern send`: the outbound queue from the CLI.
// Each function runs on the CLI's own connection (a Transaction for writes) and throws
// std::runtime_error with a user-facing message on failure.
#include <istream>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "storage/database.hpp"
#include "storage/models.hpp"

namespace postern::cli {

void queue_list(storage::Database& db, const storage::Tenant& tenant, bool all, std::size_t limit);
void queue_show(storage::Database& db, const storage::Tenant& tenant, const std::string& id);
void queue_retry(storage::Database& db, const storage::Tenant& tenant, const std::string& id);
void queue_delete(storage::Database& db, const storage::Tenant& tenant, const std::string& id);

// Like `sendmail -t`: reads a message from `in`, takes the recipients from `to` or else from the
// To, Cc and Bcc headers, removes Bcc, adds From, Date and Message-ID when missing, and queues
// it from mailbox `from` (its Sent copy and one delivery per recipient). Prints the message id.
void send(const Config& config, storage::Database& db, const storage::Tenant& tenant,
          const std::string& from, const std::vector<std::string>& to, std::istream& in);

}  // namespace postern::cli
