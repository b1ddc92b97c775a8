#include "dns/types.hpp"

namespace postern::dns {

const char* type_name(Type t) {
    switch (t) {
        case Type::A:
            return "A";
        case Type::AAAA:
            return "AAAA";
        case Type::MX:
            return "MX";
        case Type::TXT:
            return "TXT";
        case Type::PTR:
            return "PTR";
        case Type::CNAME:
            return "CNAME";
    }
    return "?";
}

}  // namespace postern::dns
