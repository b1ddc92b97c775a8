#include "features.hpp"

#include <vector>

namespace postern::connex {

std::span<const Feature> system_features();
std::span<const Feature> deal_features();
std::span<const Feature> reply_features();

std::span<const Feature> feature_table() {
    static const std::vector<Feature> table = [] {
        std::vector<Feature> all;
        for (auto part : {system_features(), deal_features(), reply_features()})
            all.insert(all.end(), part.begin(), part.end());
        return all;
    }();
    return table;
}

}  // namespace postern::connex
