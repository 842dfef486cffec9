// The spectral convolution engine (conv_spectral.hpp): transforms of tiles, the per-frequency
// channel GEMMs, inverse transforms, and the saved spectra shared by forward and backward.
//
// Two real samples per complex transform: x_{2p} + i·x_{2p+1} against a real filter gives
//   (x_{2p} + i·x_{2p+1}) ⋆ w = x_{2p} ⋆ w + i·(x_{2p+1} ⋆ w),
// so y_{2p} is the real and y_{2p+1} the imaginary part of one inverse (an odd batch's last pair
// has x_{2p+1} = 0); dx likewise from dy_{2p} + i·dy_{2p+1}. For dw the pair sums itself:
//   Re[(A + iB) ⋆ conj(dA + i·dB)] = A ⋆ dA + B ⋆ dB   (the cross terms are imaginary),
// so Σ_p conj(DŶ_p)·X̂_p summed over pairs has the batch sum of x ⋆ dy as the real part of its inverse.
#include <algorithm>
#include <atomic>
#include <omp.h>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_common.hpp"
#include "nodal/backends/cpu/conv_spectral.hpp"
#include "nodal/backends/cpu/conv_spectral_box.hpp"
#include "nodal/backends/cpu/conv_spectral_mac.hpp"
#include "nodal/backends/cpu/conv_spectral_moves.hpp"
#include "nodal/backends/cpu/conv_spectral_storage.hpp"
#include "nodal/core/error.hpp"

namespace nodal::cpu::spectral {
namespace {

enum Counter { count_x, count_w, count_dy, count_y_inv, count_dx_inv, count_dw_inv, count_kinds };
std::atomic<std::uint64_t> counters[count_kinds];
void count(Counter c, std::uint64_t n) { counters[c].fetch_add(n, std::memory_order_relaxed); }

template <class T>
struct SavedSpectra final : ConvSaved {
  std::string key;
  Spectra<T> w;
  std::vector<Spectra<T>> x;  // per tile of the plan
};

std::string saved_key(const ConvGeometry& g, const TileConfig& c, DType dtype) {
  return fmt::format("{} {} m{} t{}x{}x{}", g.key(), dtype_name(dtype), int(c.method), c.tile[0], c.tile[1], c.tile[2]);
}

// Three boxes of `points` per thread (transforms run out of place between the first two; the
// Hermitian pack of two dw rows needs a third).
template <class T>
std::complex<T>* box_scratch(std::int64_t points) {
  thread_local std::vector<std::complex<T>> buffer;
  if (std::int64_t(buffer.size()) < 3 * points) buffer.resize(std::size_t(3 * points));
  return buffer.data();
}

// Whether `jobs` independent pieces of work (transforms, frequency blocks) are worth a parallel
// region. With fewer jobs than threads the region would leave threads idle (outside one, the 1-D
// plans of a large box split their own rows over the threads instead); below 2^15 points of work,
// waking a team and meeting at its barrier costs more than the work, and far more on an
// oversubscribed machine.
bool spread(std::int64_t jobs, std::int64_t points_each) {
  return jobs >= omp_get_max_threads() && jobs * points_each >= (std::int64_t(1) << 15);
}

// One problem: geometry, tiles, transform sizes.
template <class T>
class Engine {
 public:
  using Complex = std::complex<T>;
  using Extent = std::array<std::int64_t, 3>;
  static constexpr std::int64_t blk = spectral_block<T>;

  Engine(const ConvGeometry& g, const TileConfig& config)
      : g_(g), config_(config), plan_(make_tile_plan(g, config)), box_(plan_.length) {
    points_ = plan_.points();
    blocks_ = (points_ + blk - 1) / blk;
    pairs_ = (g.batch + 1) / 2;
    scale_ = T(1.0 / double(points_));
    for (std::size_t i = 0; i < 3; ++i) span_[i] = g.dilation[i] * (g.kernel[i] - 1) + 1;
    for (const Tile& t : plan_.tiles) {
      Maps xm, zm;
      for (std::size_t i = 0; i < 3; ++i) {
        const std::int64_t L = plan_.length[i];
        for (std::int64_t v = t.x_lo[i]; v < t.x_hi[i]; ++v) {
          xm[i].src.push_back(v - g.pad_before[i]);
          xm[i].dst.push_back(v - t.origin[i]);
        }
        const std::int64_t s = g.stride[i];
        for (std::int64_t z = (t.z_lo[i] + s - 1) / s * s; z < t.z_hi[i]; z += s) {
          zm[i].src.push_back(z / s);
          zm[i].dst.push_back(((z - t.origin[i]) % L + L) % L);
        }
      }
      for (std::size_t i = 0; i < 3; ++i) {
        xm[i].finish();
        zm[i].finish();
      }
      x_maps_.push_back(std::move(xm));
      z_maps_.push_back(std::move(zm));
    }
    for (std::size_t i = 0; i < 3; ++i)
      for (std::int64_t k = 0; k < g.kernel[i]; ++k) {
        k_map_[i].src.push_back(k);
        k_map_[i].dst.push_back(k * g.dilation[i]);
      }
    for (std::size_t i = 0; i < 3; ++i) k_map_[i].finish();
    if (g.out_channels * g.in_per_group() > 1) mirror_ = mirror_table(plan_.length);  // two filters per transform
    overwrite_y_ = partitions(z_maps_, g.out, Writes::y);
    overwrite_dx_ = partitions(x_maps_, g.in, Writes::dx);
    plane_jobs_y_ = plane_jobs_of(Writes::y);
    plane_jobs_dx_ = plane_jobs_of(Writes::dx);
    // Row plans for every region size that a transform will see.
    auto prepare = [&](const Maps& m) {
      Extent lo, hi;
      region(m, lo, hi);
      box_.prepare(hi[1] - lo[1]);
    };
    prepare(k_map_);
    for (std::size_t t = 0; t < plan_.tiles.size(); ++t) {
      prepare(x_maps_[t]);
      prepare(z_maps_[t]);
    }
  }

  // Row stride of the spectra in GEMM elements (Spectra::stride).
  static constexpr std::int64_t G = Spectra<T>::stride;

  // y = x ⋆ w (+ bias[o] when bias is not null: the values y starts from).
  std::unique_ptr<ConvSaved> forward(const T* x, const T* w, const T* bias, T* y, bool keep, DType dtype) const {
    if (needs_fill(Writes::y)) {
      const std::int64_t planes = g_.batch * g_.out_channels, pixels = g_.out_pixels();
      for (std::int64_t plane = 0; plane < planes; ++plane)
        std::fill(y + plane * pixels, y + (plane + 1) * pixels, bias ? bias[plane % g_.out_channels] : T(0));
    }
    Spectra<T> W = transform_w(w);
    std::unique_ptr<SavedSpectra<T>> saved;
    if (keep) {
      saved = std::make_unique<SavedSpectra<T>>();
      saved->key = saved_key(g_, config_, dtype);
      saved->x.resize(plan_.tiles.size());
    }
    bool first_chunk = true;
    for (const std::vector<std::size_t>& chunk : chunks(Writes::y)) {
      std::vector<Spectra<T>> X = transform_data(x, chunk, /*is_x=*/true);
      std::vector<Spectra<T>> Y(chunk.size());
      const std::int64_t C = g_.in_channels, O = g_.out_channels, Cg = g_.in_per_group(), Og = g_.out_per_group();
      for (auto& s : Y) s = Spectra<T>(pairs_ * O, blocks_, false);
      const std::int64_t mac_work = blk * std::int64_t(chunk.size()) * pairs_ * Og * Cg * g_.groups;
      // Ŷ_f[n, o] = Σ_c X̂_f[n, c] · conj Ŵ_f[o, c]   (y = x ⋆ w)
#pragma omp parallel for schedule(static) if (spread(blocks_, mac_work))
      for (std::int64_t b = 0; b < blocks_; ++b)
        for (std::size_t t = 0; t < chunk.size(); ++t)
          for (std::int64_t gi = 0; gi < g_.groups; ++gi)
            block_gemm<T, false, true>(pairs_, Og, Cg, X[t].at(b, gi * Cg), C * G, G, W.at(b, gi * Og * Cg), G,
                                       Cg * G, Y[t].at(b, gi * Og), O * G, G, false);
      inverse_data(Y, chunk, y, /*is_y=*/true, first_chunk, bias);
      first_chunk = false;
      if (saved)
        for (std::size_t t = 0; t < chunk.size(); ++t) saved->x[chunk[t]] = std::move(X[t]);
    }
    if (saved) saved->w = std::move(W);
    return saved;
  }

  void backward(const T* x, const T* w, const T* dy, T* dx, T* dw, const ConvSaved* saved_any, DType dtype) const {
    const auto* saved = dynamic_cast<const SavedSpectra<T>*>(saved_any);
    if (saved && saved->key != saved_key(g_, config_, dtype)) saved = nullptr;  // not this problem's spectra
    const std::int64_t C = g_.in_channels, O = g_.out_channels, Cg = g_.in_per_group(), Og = g_.out_per_group();
    Spectra<T> w_local;
    const Spectra<T>* W = nullptr;
    if (dx) {
      if (needs_fill(Writes::dx)) std::fill(dx, dx + g_.batch * C * g_.in_pixels(), T(0));
      if (saved) W = &saved->w;
      else {
        w_local = transform_w(w);
        W = &w_local;
      }
    }
    Spectra<T> DW;
    // The first tile's products are written into DW, the others added: no zero fill, unless no tile
    // has data (then dw is zero).
    if (dw) DW = Spectra<T>(O * Cg, blocks_, plan_.tiles.empty());
    bool first_chunk = true;
    for (const std::vector<std::size_t>& chunk : chunks(dx ? Writes::dx : Writes::nothing)) {
      const std::int64_t mac_work = blk * std::int64_t(chunk.size()) * pairs_ * Og * Cg * g_.groups;
      // dy is transformed once per tile and serves both dx and dw.
      std::vector<Spectra<T>> DY = transform_data(dy, chunk, /*is_x=*/false);
      if (dx) {
        std::vector<Spectra<T>> DX(chunk.size());
        for (auto& s : DX) s = Spectra<T>(pairs_ * C, blocks_, false);
        // DX̂_f[n, c] = Σ_o DŶ_f[n, o] · Ŵ_f[o, c]   (dx = dy ⋆ᵀ w)
#pragma omp parallel for schedule(static) if (spread(blocks_, mac_work))
        for (std::int64_t b = 0; b < blocks_; ++b)
          for (std::size_t t = 0; t < chunk.size(); ++t)
            for (std::int64_t gi = 0; gi < g_.groups; ++gi)
              block_gemm<T, false, false>(pairs_, Cg, Og, DY[t].at(b, gi * Og), O * G, G, W->at(b, gi * Og * Cg),
                                          Cg * G, G, DX[t].at(b, gi * Cg), C * G, G, false);
        inverse_data(DX, chunk, dx, /*is_y=*/false, first_chunk);
      }
      if (dw) {
        std::vector<Spectra<T>> X_local;
        std::vector<const Spectra<T>*> X(chunk.size());
        if (saved) {
          for (std::size_t t = 0; t < chunk.size(); ++t) X[t] = &saved->x[chunk[t]];
        } else {
          X_local = transform_data(x, chunk, /*is_x=*/true);
          for (std::size_t t = 0; t < chunk.size(); ++t) X[t] = &X_local[t];
        }
        // DŴ_f[o, c] += Σ_n conj DŶ_f[n, o] · X̂_f[n, c]   (dw = x ⋆ dy, summed over pairs and tiles)
#pragma omp parallel for schedule(static) if (spread(blocks_, mac_work))
        for (std::int64_t b = 0; b < blocks_; ++b)
          for (std::size_t t = 0; t < chunk.size(); ++t)
            for (std::int64_t gi = 0; gi < g_.groups; ++gi)
              block_gemm<T, true, false>(Og, Cg, pairs_, DY[t].at(b, gi * Og), G, O * G, X[t]->at(b, gi * Cg), C * G,
                                         G, DW.at(b, gi * Og * Cg), Cg * G, G, !(first_chunk && t == 0));
      }
      first_chunk = false;
    }
    if (dw) inverse_w(DW, dw);
  }

 private:
  using Writes = TileWrites;
  std::size_t colour(std::size_t t, Writes writes) const { return tile_colour(g_, plan_, t, writes); }

  // Whether the tiles' write ranges (z_maps_ for y, x_maps_ for dx) partition the tensor's pixels:
  // disjoint (one colour) and as many points as the tensor has. Then the inverse writes every point
  // once, and the tensor needs no zero fill to add into.
  bool partitions(const std::vector<Maps>& maps, const Extent& extent, Writes writes) const {
    std::int64_t written = 0;
    for (std::size_t t = 0; t < maps.size(); ++t) {
      if (colour(t, writes) != 0) return false;
      written += std::int64_t(maps[t][0].src.size() * maps[t][1].src.size() * maps[t][2].src.size());
    }
    return written == extent[0] * extent[1] * extent[2];
  }

  // The tiles ordered by colour and cut into chunks that bound the memory of the spectra in flight.
  // A chunk's transforms and GEMMs run all at once; only its inverse-and-add step goes colour by
  // colour (inverse_data, where it does not run plane jobs), so the colours cost no extra parallel
  // regions elsewhere.
  std::vector<std::vector<std::size_t>> chunks(Writes writes) const {
    std::vector<std::size_t> order(plan_.tiles.size());
    for (std::size_t t = 0; t < order.size(); ++t) order[t] = t;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t u, std::size_t v) { return colour(u, writes) < colour(v, writes); });
    const std::int64_t tile_bytes =
        blocks_ * 2 * blk * std::int64_t(sizeof(T)) * pairs_ * 2 * (g_.in_channels + g_.out_channels);
    const std::size_t per_chunk =
        std::size_t(std::max<std::int64_t>(1, (std::int64_t(256) << 20) / std::max<std::int64_t>(tile_bytes, 1)));
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t first = 0; first < order.size(); first += per_chunk)
      out.emplace_back(order.begin() + std::ptrdiff_t(first),
                       order.begin() + std::ptrdiff_t(std::min(order.size(), first + per_chunk)));
    return out;
  }

  // The box rows a map touches, as a pruning region: [min, max] of its local indices per axis
  // (a map that wraps around spans nearly the whole axis, which is still correct).
  void region(const Maps& m, Extent& lo, Extent& hi) const {
    for (std::size_t i = 0; i < 3; ++i) {
      lo[i] = 0;
      hi[i] = plan_.length[i];
      if (m[i].dst.empty()) continue;
      const auto [mn, mx] = std::minmax_element(m[i].dst.begin(), m[i].dst.end());
      lo[i] = *mn;
      hi[i] = *mx + 1;
    }
  }

  // Spectra of w: rows (o, c within the group), taps at k·d. Two real filters per transform:
  // Z = F(w_a + i·w_b) gives W_a[k] = (Z[k] + conj Z[−k])/2 and W_b[k] = (Z[k] − conj Z[−k])/(2i)
  // (the Hermitian and anti-Hermitian parts), halving the filter transforms.
  Spectra<T> transform_w(const T* w) const {
    const std::int64_t rows = g_.out_channels * g_.in_per_group(), K = g_.kernel_pixels(), jobs = (rows + 1) / 2;
    Spectra<T> s(rows, blocks_, false);
    Extent lo, hi;
    region(k_map_, lo, hi);
#pragma omp parallel for schedule(dynamic) if (spread(jobs, points_))
    for (std::int64_t j = 0; j < jobs; ++j) {
      const std::int64_t r = 2 * j;
      const bool two = r + 1 < rows;
      Complex* a = box_scratch<T>(points_);
      Complex* b = a + points_;
      box_.clear(a, lo, hi);
      scatter_real(w + r * K, two ? w + (r + 1) * K : nullptr, g_.kernel, k_map_, plan_.length, a);
      box_.forward(a, b, lo, hi);
      if (!two) {
        store(b, points_, s, r);
        continue;
      }
      store_hermitian_split(b, mirror_.data(), points_, s, r, r + 1);
    }
    count(count_w, std::uint64_t(jobs));
    return s;
  }

  // Spectra of x (is_x) or dy tiles: rows (pair, channel), two samples per transform.
  std::vector<Spectra<T>> transform_data(const T* data, const std::vector<std::size_t>& chunk, bool is_x) const {
    const std::int64_t channels = is_x ? g_.in_channels : g_.out_channels;
    const Extent& extent = is_x ? g_.in : g_.out;
    const std::int64_t pixels = extent[0] * extent[1] * extent[2];
    std::vector<Spectra<T>> out(chunk.size());
    for (auto& s : out) s = Spectra<T>(pairs_ * channels, blocks_, false);
    const std::int64_t per_tile = pairs_ * channels, jobs = std::int64_t(chunk.size()) * per_tile;
#pragma omp parallel for schedule(dynamic) if (spread(jobs, points_))
    for (std::int64_t j = 0; j < jobs; ++j) {
      const std::size_t t = std::size_t(j / per_tile);
      const std::int64_t row = j % per_tile, p = row / channels, c = row % channels;
      const Maps& maps = is_x ? x_maps_[chunk[t]] : z_maps_[chunk[t]];
      Complex* box = box_scratch<T>(points_);
      Extent lo, hi;
      region(maps, lo, hi);
      box_.clear(box, lo, hi);
      const T* a = data + ((2 * p) * channels + c) * pixels;
      const T* b = 2 * p + 1 < g_.batch ? data + ((2 * p + 1) * channels + c) * pixels : nullptr;
      scatter_real(a, b, extent, maps, plan_.length, box);
      box_.forward(box, box + points_, lo, hi);
      store(box + points_, points_, out[t], row);
    }
    count(is_x ? count_x : count_dy, std::uint64_t(jobs));
    return out;
  }

  // Where the tiles' writes overlap, whether the inverse step runs one job per output plane pair
  // (pair, channel), each adding every tile of the chunk in turn, instead of colour by colour: one
  // parallel region instead of one per colour, no separate zero fill of the whole tensor (each job
  // zeroes its planes when it starts, in the first chunk), and the planes stay in the job's cache
  // while every tile adds into them. Taken when there are enough planes to share among the threads.
  bool plane_jobs(Writes writes) const { return writes == Writes::y ? plane_jobs_y_ : plane_jobs_dx_; }
  bool plane_jobs_of(Writes writes) const {
    bool overlapping = false;
    for (std::size_t t = 0; t < plan_.tiles.size(); ++t) overlapping = overlapping || colour(t, writes) != 0;
    const std::int64_t planes = pairs_ * (writes == Writes::y ? g_.out_channels : g_.in_channels);
    return overlapping && planes >= 4 * std::int64_t(omp_get_max_threads());
  }
  // Whether y or dx must be zero-filled before the inverse steps add into it.
  bool needs_fill(Writes writes) const {
    if (writes == Writes::y ? overwrite_y_ : overwrite_dx_) return false;
    return plan_.tiles.empty() || !plane_jobs(writes);
  }

  // Inverse transforms of Ŷ (is_y, into y on the z grid) or DX̂ (into dx on the x grid): written where
  // the tiles partition the tensor (overwrite_y_, overwrite_dx_), else added; `first_chunk` says
  // whether plane jobs zero their planes first. `start` (per channel, may be null): the value each
  // output starts from instead of zero (the bias).
  void inverse_data(const std::vector<Spectra<T>>& spectra, const std::vector<std::size_t>& chunk, T* out,
                    bool is_y, bool first_chunk, const T* start = nullptr) const {
    const std::int64_t channels = is_y ? g_.out_channels : g_.in_channels;
    const Extent& extent = is_y ? g_.out : g_.in;
    const std::int64_t pixels = extent[0] * extent[1] * extent[2];
    const std::int64_t per_tile = pairs_ * channels;
    const Writes writes = is_y ? Writes::y : Writes::dx;
    if (plane_jobs(writes)) {
      const std::int64_t tiles = std::int64_t(chunk.size());
#pragma omp parallel for schedule(dynamic) if (spread(per_tile, tiles * points_))
      for (std::int64_t row = 0; row < per_tile; ++row) {
        const std::int64_t p = row / channels, c = row % channels;
        T* a = out + ((2 * p) * channels + c) * pixels;
        T* b = 2 * p + 1 < g_.batch ? out + ((2 * p + 1) * channels + c) * pixels : nullptr;
        if (first_chunk) {
          const T v = start ? start[c] : T(0);
          std::fill(a, a + pixels, v);
          if (b) std::fill(b, b + pixels, v);
        }
        Complex* box = box_scratch<T>(points_);
        for (std::size_t t = 0; t < chunk.size(); ++t) {
          const Maps& maps = is_y ? z_maps_[chunk[t]] : x_maps_[chunk[t]];
          load(spectra[t], row, points_, box + points_);
          Extent lo, hi;
          region(maps, lo, hi);
          box_.inverse(box + points_, box, lo, hi);
          gather(box, extent, maps, plan_.length, scale_, a, b, /*accumulate=*/true);
        }
      }
      count(is_y ? count_y_inv : count_dx_inv, std::uint64_t(std::int64_t(chunk.size()) * per_tile));
      return;
    }
    // One colour at a time (chunks() ordered the tiles by colour); within a colour all in parallel.
    for (std::size_t first = 0; first < chunk.size();) {
      std::size_t last = first + 1;
      while (last < chunk.size() && colour(chunk[last], writes) == colour(chunk[first], writes)) ++last;
      const std::int64_t jobs = std::int64_t(last - first) * per_tile;
      // Tiles innermost: neighbouring jobs add into the same image, so a wrong colouring would show.
      const std::int64_t tiles = std::int64_t(last - first);
#pragma omp parallel for schedule(dynamic) if (spread(jobs, points_))
      for (std::int64_t j = 0; j < jobs; ++j) {
        const std::size_t t = first + std::size_t(j % tiles);
        const std::int64_t row = j / tiles, p = row / channels, c = row % channels;
        const Maps& maps = is_y ? z_maps_[chunk[t]] : x_maps_[chunk[t]];
        Complex* box = box_scratch<T>(points_);
        load(spectra[t], row, points_, box + points_);
        Extent lo, hi;
        region(maps, lo, hi);
        box_.inverse(box + points_, box, lo, hi);
        T* a = out + ((2 * p) * channels + c) * pixels;
        T* b = 2 * p + 1 < g_.batch ? out + ((2 * p + 1) * channels + c) * pixels : nullptr;
        gather(box, extent, maps, plan_.length, scale_, a, b, /*accumulate=*/!(is_y ? overwrite_y_ : overwrite_dx_),
               start ? start[c] : T(0));
      }
      first = last;
    }
    count(is_y ? count_y_inv : count_dx_inv, std::uint64_t(std::int64_t(chunk.size()) * per_tile));
  }

  // dw from its spectra, two rows per inverse: the wanted real parts Re F⁻¹(Z) = F⁻¹(Herm Z) with
  // Herm Z[k] = (Z[k] + conj Z[−k])/2, so F⁻¹(Herm Z_a + i·Herm Z_b) = dw_a + i·dw_b.
  void inverse_w(const Spectra<T>& DW, T* dw) const {
    const std::int64_t rows = g_.out_channels * g_.in_per_group(), K = g_.kernel_pixels(), jobs = (rows + 1) / 2;
    Extent lo, hi;
    region(k_map_, lo, hi);
#pragma omp parallel for schedule(dynamic) if (spread(jobs, points_))
    for (std::int64_t j = 0; j < jobs; ++j) {
      const std::int64_t r = 2 * j;
      const bool two = r + 1 < rows;
      Complex* a = box_scratch<T>(points_);
      Complex* b = a + points_;
      if (two) {
        Complex* c = b + points_;
        load(DW, r, points_, a);
        load(DW, r + 1, points_, c);
        hermitian_pack(mirror_.data(), points_, a, c, b);
      } else {
        load(DW, r, points_, b);
      }
      box_.inverse(b, a, lo, hi);
      // One row: the real part is the pair sum (the imaginary part holds cross terms, dropped).
      gather(a, g_.kernel, k_map_, plan_.length, scale_, dw + r * K, two ? dw + (r + 1) * K : nullptr,
             /*accumulate=*/false);
    }
    count(count_dw_inv, std::uint64_t(jobs));
  }

  ConvGeometry g_;
  TileConfig config_;
  TilePlan plan_;
  BoxTransform<T> box_;
  std::int64_t points_ = 0, blocks_ = 0, pairs_ = 0;
  T scale_ = 1;
  Extent span_{1, 1, 1};
  std::vector<std::int32_t> mirror_;  // mirror_table: the index of −f, for two filters per transform
  bool overwrite_y_ = false, overwrite_dx_ = false;  // partitions(): write instead of zero fill and add
  bool plane_jobs_y_ = false, plane_jobs_dx_ = false;  // plane_jobs()
  std::vector<Maps> x_maps_, z_maps_;
  Maps k_map_;
};

void check_tensors(std::string_view what, const ConvGeometry& g, const Tensor& x, const Tensor& w) {
  if (x.dtype() != w.dtype() || (x.dtype() != DType::float32 && x.dtype() != DType::float64))
    throw DTypeError(fmt::format("conv{}d ({}): x is {} and w is {}; the spectral algorithms take float32 or float64 alike",
                                 g.rank, what, dtype_name(x.dtype()), dtype_name(w.dtype())));
  if (!x.is_contiguous() || !w.is_contiguous() || !(x.shape() == g.input_shape()) || !(w.shape() == g.weight_shape()))
    throw ShapeError(fmt::format("conv{}d ({}): expects contiguous x {} and w {} for {}, got {} and {}", g.rank, what,
                                 to_string(g.input_shape()), to_string(g.weight_shape()), g.key(), to_string(x.shape()),
                                 to_string(w.shape())));
}

void fill_zero(Tensor& t) {
  if (t.dtype() == DType::float64) std::fill(t.data<double>(), t.data<double>() + t.numel(), 0.0);
  else std::fill(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
}

template <class T>
const T* cdata(const Tensor& t) {
  return t.data<T>();
}

}  // namespace

std::unique_ptr<ConvSaved> conv_forward(const ConvGeometry& g, const TileConfig& config, const Tensor& x,
                                        const Tensor& w, Tensor& y, bool keep, const Tensor* bias) {
  check_tensors("forward", g, x, w);
  if (y.dtype() != x.dtype() || !y.is_contiguous() || !(y.shape() == g.output_shape()))
    throw ShapeError(fmt::format("conv{}d (forward): y must be contiguous {} {}, got {} {}", g.rank,
                                 to_string(g.output_shape()), dtype_name(x.dtype()), to_string(y.shape()),
                                 dtype_name(y.dtype())));
  if (bias && (bias->dtype() != x.dtype() || !bias->is_contiguous() || !(bias->shape() == Shape{g.out_channels})))
    throw ShapeError(fmt::format("conv{}d (forward): the bias must be contiguous [{}] {}, got {} {}", g.rank,
                                 g.out_channels, dtype_name(x.dtype()), to_string(bias->shape()),
                                 dtype_name(bias->dtype())));
  if (x.numel() == 0 || w.numel() == 0 || y.numel() == 0) {  // empty batch or channels: sums of nothing
    fill_zero(y);
    if (bias) conv_detail::add_bias(y, *bias, g.batch, g.out_channels, g.out_pixels());
    return nullptr;
  }
  if (x.dtype() == DType::float64)
    return Engine<double>(g, config).forward(cdata<double>(x), cdata<double>(w), bias ? cdata<double>(*bias) : nullptr,
                                             y.data<double>(), keep, x.dtype());
  return Engine<float>(g, config).forward(cdata<float>(x), cdata<float>(w), bias ? cdata<float>(*bias) : nullptr,
                                          y.data<float>(), keep, x.dtype());
}

void conv_backward(const ConvGeometry& g, const TileConfig& config, const Tensor& x, const Tensor& w,
                   const Tensor& dy, Tensor* dx, Tensor* dw, const ConvSaved* saved) {
  check_tensors("backward", g, x, w);
  if (dy.dtype() != x.dtype() || !dy.is_contiguous() || !(dy.shape() == g.output_shape()))
    throw ShapeError(fmt::format("conv{}d (backward): dy must be contiguous {} {}, got {} {}", g.rank,
                                 to_string(g.output_shape()), dtype_name(x.dtype()), to_string(dy.shape()),
                                 dtype_name(dy.dtype())));
  auto check_out = [&](const Tensor* t, const Shape& shape, const char* name) {
    if (t && (t->dtype() != x.dtype() || !t->is_contiguous() || !(t->shape() == shape)))
      throw ShapeError(fmt::format("conv{}d (backward): {} must be contiguous {} {}, got {} {}", g.rank, name,
                                   to_string(shape), dtype_name(x.dtype()), to_string(t->shape()), dtype_name(t->dtype())));
  };
  check_out(dx, g.input_shape(), "dx");
  check_out(dw, g.weight_shape(), "dw");
  if (!dx && !dw) return;
  if (x.numel() == 0 || w.numel() == 0 || dy.numel() == 0) {
    if (dx) fill_zero(*dx);
    if (dw) fill_zero(*dw);
    return;
  }
  if (x.dtype() == DType::float64)
    Engine<double>(g, config).backward(cdata<double>(x), cdata<double>(w), cdata<double>(dy),
                                       dx ? dx->data<double>() : nullptr, dw ? dw->data<double>() : nullptr, saved,
                                       x.dtype());
  else
    Engine<float>(g, config).backward(cdata<float>(x), cdata<float>(w), cdata<float>(dy),
                                      dx ? dx->data<float>() : nullptr, dw ? dw->data<float>() : nullptr, saved,
                                      x.dtype());
}

TransformCounts transform_counts() {
  TransformCounts c;
  c.x = counters[count_x].load();
  c.w = counters[count_w].load();
  c.dy = counters[count_dy].load();
  c.inverse_y = counters[count_y_inv].load();
  c.inverse_dx = counters[count_dx_inv].load();
  c.inverse_dw = counters[count_dw_inv].load();
  return c;
}

}  // namespace nodal::cpu::spectral
