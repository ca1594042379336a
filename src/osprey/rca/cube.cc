#include "osprey/rca/cube.h"

#include <cmath>
#include <set>
#include <utility>

namespace osprey::rca {

Cube::Cube(std::vector<std::string> names)
    : names_(std::move(names)), values_(names_.size()), index_(names_.size()) {}

Result<Cube> Cube::Create(std::vector<std::string> dimension_names) {
  if (dimension_names.empty()) return InvalidArgument("cube needs at least one dimension");
  if (dimension_names.size() > kMaxDimensions) {
    return InvalidArgument("cube has " + std::to_string(dimension_names.size()) + " dimensions, at most " +
                           std::to_string(kMaxDimensions) + " allowed");
  }
  std::set<std::string> seen;
  for (const std::string& n : dimension_names) {
    if (n.empty()) return InvalidArgument("empty dimension name");
    if (!seen.insert(n).second) return InvalidArgument("duplicate dimension name '" + n + "'");
  }
  return Cube(std::move(dimension_names));
}

uint32_t Cube::InternValue(size_t dim, std::string_view value) {
  auto& index = index_[dim];
  auto it = index.find(std::string(value));
  if (it != index.end()) return it->second;
  auto code = static_cast<uint32_t>(values_[dim].size());
  values_[dim].emplace_back(value);
  index.emplace(std::string(value), code);
  return code;
}

Status Cube::AppendLeaf(std::span<const uint32_t> codes, double actual, double expected) {
  if (codes.size() != names_.size()) {
    return InvalidArgument("leaf has " + std::to_string(codes.size()) + " values, cube has " +
                           std::to_string(names_.size()) + " dimensions");
  }
  if (!std::isfinite(actual) || !std::isfinite(expected)) {
    return InvalidArgument("leaf actual/expected must be finite");
  }
  for (size_t d = 0; d < codes.size(); ++d) {
    if (codes[d] >= values_[d].size()) {
      return InvalidArgument("value code " + std::to_string(codes[d]) + " unknown in dimension '" +
                             names_[d] + "'");
    }
  }
  codes_.insert(codes_.end(), codes.begin(), codes.end());
  actual_.push_back(actual);
  expected_.push_back(expected);
  return Status::Ok();
}

Status Cube::AddLeafCodes(std::span<const uint32_t> codes, double actual, double expected) {
  if (!den_actual_.empty()) {
    return InvalidArgument("the cube holds ratio leaves; give a denominator for every leaf");
  }
  return AppendLeaf(codes, actual, expected);
}

Status Cube::AddLeafCodes(std::span<const uint32_t> codes, double actual, double expected, double noise) {
  if (!(noise > 0) || !std::isfinite(noise)) return InvalidArgument("leaf noise must be positive");
  if (noise_.size() != actual_.size()) {
    return InvalidArgument("give a noise scale for every leaf or for none");
  }
  OSPREY_RETURN_IF_ERROR(AddLeafCodes(codes, actual, expected));
  noise_.push_back(noise);
  return Status::Ok();
}

Status Cube::AddRatioLeafCodes(std::span<const uint32_t> codes, double numerator_actual,
                               double numerator_expected, double denominator_actual,
                               double denominator_expected) {
  if (den_actual_.size() != actual_.size()) {
    return InvalidArgument("give a denominator for every leaf or for none");
  }
  if (!std::isfinite(denominator_actual) || !std::isfinite(denominator_expected)) {
    return InvalidArgument("leaf denominator actual/expected must be finite");
  }
  OSPREY_RETURN_IF_ERROR(AppendLeaf(codes, numerator_actual, numerator_expected));
  den_actual_.push_back(denominator_actual);
  den_expected_.push_back(denominator_expected);
  return Status::Ok();
}

Status Cube::AddLeaf(std::span<const std::string_view> values, double actual, double expected) {
  if (values.size() != names_.size()) {
    return InvalidArgument("leaf has " + std::to_string(values.size()) + " values, cube has " +
                           std::to_string(names_.size()) + " dimensions");
  }
  if (!std::isfinite(actual) || !std::isfinite(expected)) {
    return InvalidArgument("leaf actual/expected must be finite");
  }
  std::vector<uint32_t> codes(values.size());
  for (size_t d = 0; d < values.size(); ++d) codes[d] = InternValue(d, values[d]);
  return AddLeafCodes(codes, actual, expected);
}

}  // namespace osprey::rca
