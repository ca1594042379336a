// Cube: the leaf table that root-cause analysis works on. A KPI is the sum of
// many leaf series; each leaf is identified by one value per dimension (e.g.
// marketplace=jp, platform=mobile_app) and carries the actual and expected
// value of one interval. Values are interned per dimension, so a leaf is a row
// of small integer codes in one flat array, which keeps the search loops free
// of strings and maps.
//
// A Cube is a plain value: build it once, then read it from any number of
// threads. It is not safe to add leaves while another thread reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::rca {

class Cube {
 public:
  // A cube over `dimension_names` (at least one, non-empty, distinct, at most
  // kMaxDimensions, which bounds the cuboid enumeration of the root-cause
  // search). Fails with InvalidArgument otherwise.
  static Result<Cube> Create(std::vector<std::string> dimension_names);

  static constexpr size_t kMaxDimensions = 16;

  // Appends a leaf with one value per dimension, in dimension order. Fails
  // with InvalidArgument if the count of values is wrong or a number is not
  // finite; the cube is then unchanged. Two leaves with the same values are
  // kept as two leaves (their sums are what the analysis sees).
  Status AddLeaf(std::span<const std::string_view> values, double actual, double expected);

  // Like AddLeaf, with values already interned by InternValue (codes must be
  // < num_values(d)); fails with InvalidArgument otherwise.
  Status AddLeafCodes(std::span<const uint32_t> codes, double actual, double expected);

  // Like AddLeafCodes, with the leaf's own noise scale (the standard
  // deviation its forecaster expects, > 0). When every leaf has one, the
  // root-cause search judges each leaf against its own noise instead of one
  // noise level estimated across leaves (see RootCauseOptions).
  Status AddLeafCodes(std::span<const uint32_t> codes, double actual, double expected, double noise);

  // A leaf of a ratio KPI (e.g. failures / attempts): the numerator's and the
  // denominator's actual and expected values. The KPI of any set of leaves is
  // SUM(numerator) / SUM(denominator), never an average of leaf ratios. A cube
  // holds either ratio leaves only or additive leaves only; mixing fails with
  // InvalidArgument, as do non-finite values. actual()/expected() are then the
  // numerator's, denominator_actual()/denominator_expected() the denominator's.
  Status AddRatioLeafCodes(std::span<const uint32_t> codes, double numerator_actual,
                           double numerator_expected, double denominator_actual, double denominator_expected);

  // The code of `value` in dimension `dim` (< num_dimensions()), adding it to
  // the dictionary if new.
  uint32_t InternValue(size_t dim, std::string_view value);

  size_t num_dimensions() const { return names_.size(); }
  size_t num_leaves() const { return actual_.size(); }
  const std::string& dimension_name(size_t dim) const { return names_[dim]; }
  size_t num_values(size_t dim) const { return values_[dim].size(); }
  const std::string& value_name(size_t dim, uint32_t code) const { return values_[dim][code]; }

  // Code of leaf `leaf` in dimension `dim`.
  uint32_t code(size_t leaf, size_t dim) const { return codes_[leaf * names_.size() + dim]; }
  // All codes, leaf-major: codes()[leaf * num_dimensions() + dim].
  const std::vector<uint32_t>& codes() const { return codes_; }
  double actual(size_t leaf) const { return actual_[leaf]; }
  double expected(size_t leaf) const { return expected_[leaf]; }
  // True when every leaf was added with its own noise scale.
  bool has_noise() const { return !noise_.empty() && noise_.size() == actual_.size(); }
  double noise(size_t leaf) const { return noise_[leaf]; }
  // True when the leaves are ratio leaves (AddRatioLeafCodes).
  bool is_ratio() const { return !den_actual_.empty() && den_actual_.size() == actual_.size(); }
  double denominator_actual(size_t leaf) const { return den_actual_[leaf]; }
  double denominator_expected(size_t leaf) const { return den_expected_[leaf]; }

 private:
  explicit Cube(std::vector<std::string> names);
  Status AppendLeaf(std::span<const uint32_t> codes, double actual, double expected);

  std::vector<std::string> names_;
  std::vector<std::vector<std::string>> values_;
  std::vector<std::unordered_map<std::string, uint32_t>> index_;
  std::vector<uint32_t> codes_;
  std::vector<double> actual_;
  std::vector<double> expected_;
  std::vector<double> noise_;
  std::vector<double> den_actual_;
  std::vector<double> den_expected_;
};

}  // namespace osprey::rca
