#include "common/header_fields.hpp"

#include "common/ascii.hpp"

namespace postern::mime {

void for_each_header_field(std::string_view m,
                           const std::function<void(const HeaderField&)>& visit) {
    // A field is reported once its last continuation line has been seen.
    HeaderField field;
    bool open = false;
    std::size_t pos = 0;
    while (pos < m.size()) {
        const std::size_t eol = m.find("\r\n", pos);
        const std::size_t line_end = eol == std::string_view::npos ? m.size() : eol;
        const std::size_t next = eol == std::string_view::npos ? m.size() : eol + 2;
        if (eol == pos) break;  // the empty line: the body follows
        std::string_view line = m.substr(pos, line_end - pos);
        if (is_wsp(line.front())) {  // a continuation of the field before, if any
            if (open && field.end == pos) {
                field.end = next;
                const auto vbegin = static_cast<std::size_t>(field.value.data() - m.data());
                field.value = m.substr(vbegin, line_end - vbegin);
            }
            pos = next;
            continue;
        }
        if (open) visit(field);
        open = false;
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && colon > 0) {
            std::string_view name = line.substr(0, colon);
            while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
            if (!name.empty() && name.find_first_of(" \t") == std::string_view::npos) {
                field = HeaderField{name, line.substr(colon + 1), pos, next};
                open = true;
            }
        }
        pos = next;
    }
    if (open) visit(field);
}

std::size_t first_malformed_header_line(std::string_view m) {
    std::size_t number = 0, pos = 0;
    while (pos < m.size()) {
        const std::size_t eol = m.find("\r\n", pos);
        if (eol == pos) break;  // the empty line: the body follows
        std::string_view line = m.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
        ++number;
        if (is_wsp(line.front())) {
            if (number == 1) return number;  // a continuation of nothing
        } else {
            std::size_t colon = line.find(':');
            std::string_view name = line.substr(0, colon);
            while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
            if (colon == std::string_view::npos || name.empty()) return number;
            for (char c : name)
                if (c < 33 || c > 126) return number;
        }
        if (eol == std::string_view::npos) break;
        pos = eol + 2;
    }
    return 0;
}

std::vector<HeaderField> header_fields(std::string_view m) {
    std::vector<HeaderField> out;
    for_each_header_field(m, [&out](const HeaderField& f) { out.push_back(f); });
    return out;
}

namespace {

// `message` without the fields `drop` picks, written to `kept` only when there is one (a copy
// per field would be quadratic); returns how many there were.
std::size_t copy_without(std::string_view message,
                         const std::function<bool(const HeaderField&)>& drop, std::string& kept) {
    std::size_t count = 0, copied = 0;
    for_each_header_field(message, [&](const HeaderField& f) {
        if (!drop(f)) return;
        if (count++ == 0) kept.reserve(message.size());
        kept.append(message.substr(copied, f.begin - copied));
        copied = f.end;
    });
    if (count > 0) kept.append(message.substr(copied));
    return count;
}

}  // namespace

std::string without_fields(std::string_view message,
                           std::initializer_list<std::string_view> names) {
    std::string kept;
    auto named = [names](const HeaderField& f) {
        for (std::string_view name : names)
            if (iequals_ascii(f.name, name)) return true;
        return false;
    };
    if (copy_without(message, named, kept) == 0) return std::string(message);
    return kept;
}

std::size_t erase_fields_if(std::string& message,
                            const std::function<bool(const HeaderField&)>& drop) {
    std::string kept;
    const std::size_t count = copy_without(message, drop, kept);
    if (count > 0) message = std::move(kept);
    return count;
}

std::string unfold(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            ++i;
            continue;
        }
        out.push_back(value[i]);
    }
    return out;
}

}  // namespace postern::mime
