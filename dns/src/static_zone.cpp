#include "dns/static_zone.hpp"

#include <algorithm>

namespace postern::dns {
namespace {

constexpr int kMaxCnameChain = 8;

std::string key(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string k(name);
    for (char& c : k)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return k;
}

}  // namespace

StaticZone::Node& StaticZone::node(std::string_view name) { return nodes_[key(name)]; }

const StaticZone::Node* StaticZone::find(std::string_view name) const {
    const auto it = nodes_.find(key(name));
    return it == nodes_.end() ? nullptr : &it->second;
}

void StaticZone::add(std::string_view name, Type type, std::string_view value,
                     std::uint16_t preference) {
    node(name).records.push_back(Record{type, preference, std::string(value)});
}

void StaticZone::add_timeout(std::string_view name) { node(name).timeout_rest = true; }

void StaticZone::add_timeout(std::string_view name, Type type) {
    node(name).timeouts.push_back(type);
}

void StaticZone::add_name(std::string_view name) { node(name); }

bool StaticZone::contains(std::string_view name) const { return find(name) != nullptr; }

Answer StaticZone::resolve(const Question& q) const {
    Answer a;
    std::string name = q.name;
    for (int hop = 0; hop <= kMaxCnameChain; ++hop) {
        const Node* n = find(name);
        if (n == nullptr) {
            a.status = Status::nxdomain;  // after a CNAME too: the RCODE of the last name
            return a;
        }
        if (std::find(n->timeouts.begin(), n->timeouts.end(), q.type) != n->timeouts.end()) {
            a.status = Status::temperror;
            return a;
        }
        const Record* cname = nullptr;
        bool any = false;
        for (const Record& r : n->records) {
            if (r.type == Type::CNAME && q.type != Type::CNAME) cname = &r;
            if (r.type != q.type) continue;
            any = true;
            switch (r.type) {
                case Type::A:
                case Type::AAAA:
                    a.addresses.push_back(r.value);
                    break;
                case Type::TXT:
                    a.txt.push_back(r.value);
                    break;
                case Type::MX:
                    a.mx.push_back(Mx{r.preference, r.value == "." ? std::string() : r.value});
                    break;
                case Type::PTR:
                case Type::CNAME:
                    a.names.push_back(r.value);
                    break;
            }
        }
        if (any) {
            a.status = Status::ok;
            if (hop != 0) a.canonical_name = key(name);
            return a;
        }
        if (cname != nullptr) {
            name = cname->value;
            continue;
        }
        a.status = n->timeout_rest ? Status::temperror : Status::nodata;
        if (hop != 0 && a.status == Status::nodata) a.canonical_name = key(name);
        return a;
    }
    a.status = Status::temperror;  // a CNAME chain too long, or a loop
    return a;
}

}  // namespace postern::dns
