#pragma once
// A table of DNS records that answers Questions from memory, as a resolver would: for unit
// tests, tools (postern-spf-eval) and fixed overrides. Names are matched case-insensitively;
// CNAMEs are followed. Not thread-safe while records are added; resolve() is const.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/types.hpp"

namespace postern::dns {

class StaticZone {
 public:
    // `value`: an address for A/AAAA, the joined strings for TXT, the target for PTR/CNAME, the
    // exchange for MX ("" or "." for a null MX) with `preference`.
    void add(std::string_view name, Type type, std::string_view value,
             std::uint16_t preference = 0);
    // Questions about `name` for which it has no records time out (Status::temperror).
    void add_timeout(std::string_view name);
    // Questions of `type` about `name` time out.
    void add_timeout(std::string_view name, Type type);
    // Creates the name without records (NODATA rather than NXDOMAIN).
    void add_name(std::string_view name);

    bool contains(std::string_view name) const;
    Answer resolve(const Question& q) const;

 private:
    struct Record {
        Type type;
        std::uint16_t preference;
        std::string value;
    };
    struct Node {
        std::vector<Record> records;
        std::vector<Type> timeouts;
        bool timeout_rest = false;
    };
    Node& node(std::string_view name);
    const Node* find(std::string_view name) const;

    std::unordered_map<std::string, Node> nodes_;
};

}  // namespace postern::dns
