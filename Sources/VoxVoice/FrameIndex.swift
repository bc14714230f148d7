import Foundation

/// Exact k-nearest-neighbour search (squared Euclidean) over a fixed set of short vectors: the voice model's bank
/// keys that `VoiceConverter` retrieves frames from.
///
/// The brute-force scan it replaces compared every query with all 12 000 keys and took 28 % of the CPU time of a
/// conversion (vocadito S1, 33 s); this search takes 16 % of a run that is itself a third shorter (perf, one core).
/// Here the keys are sorted by their first coordinate (c1: the spectral tilt, which separates vowels from consonants) and stored
/// transposed in blocks of 8 (`dimension` rows of 8 lanes per block). A query starts at the block where its own
/// first coordinate falls and walks outwards in both directions, nearer side first; it stops once the gap in the
/// first coordinate alone exceeds the k-th best distance found (no key further out can be nearer). Within a
/// block, 8 keys are scored at once and the block is dropped as soon as the partial distance over the first 4
/// coordinates of all 8 keys is no better than the k-th best (partial distance elimination). A caller can pass
/// the previous query's neighbours as a hint: consecutive frames of a voice are alike, so the largest distance
/// from the new query to those `k` keys bounds its k-th nearest from the start and most blocks are dropped at
/// once (the bound is an upper bound, so the result stays exact). All shortcuts are exact: the result is the
/// brute-force one (ties aside).
struct FrameIndex: Sendable {
    /// Keys (`count`) and dimensions per key.
    let count: Int
    let dimension: Int
    /// `blocks × dimension × 8` floats: block `b`, dimension `m`, lane `l` at `(b·dimension + m)·8 + l`, keys in
    /// ascending order of their first coordinate. Padding lanes hold a huge value so they are never chosen.
    let transposed: [Float]
    /// Original index of the key in each sorted position (`blocks × 8`; padding −1).
    let ids: [Int32]
    /// The keys in their original order (`count × dimension`), for the hint's distances.
    let rows: [Float]
    /// First coordinate of each block's first and last key.
    let blockLow: [Float]
    let blockHigh: [Float]

    var blocks: Int { (count + 7) / 8 }

    /// Coordinates checked before the rest of a block's distance is computed.
    static let partialDimensions = 4

    /// - Parameters: `keys`: `count × stride` floats, row-major; the first `dimension` (≥ 1) of each row are the key.
    init(keys: [Float], count: Int, stride: Int, dimension: Int) {
        precondition(dimension >= 1 && dimension <= stride && keys.count >= count * stride, "keys too short")
        self.count = count
        self.dimension = dimension
        let order = (0..<count).sorted { keys[$0 * stride] < keys[$1 * stride] }
        let blocks = (count + 7) / 8
        var t = [Float](repeating: 1e15, count: blocks * dimension * 8)
        var id = [Int32](repeating: -1, count: blocks * 8)
        var low = [Float](repeating: 0, count: blocks), high = [Float](repeating: 0, count: blocks)
        var r = [Float](repeating: 0, count: count * dimension)
        for i in 0..<count { for m in 0..<dimension { r[i * dimension + m] = keys[i * stride + m] } }
        rows = r
        for (p, i) in order.enumerated() {
            let b = p / 8, lane = p % 8
            for m in 0..<dimension { t[(b * dimension + m) * 8 + lane] = keys[i * stride + m] }
            id[p] = Int32(i)
            if lane == 0 { low[b] = keys[i * stride] }
            high[b] = keys[i * stride]
        }
        transposed = t
        ids = id
        blockLow = low
        blockHigh = high
    }

    /// Indices of the `k` keys nearest to `query` (`dimension` values), nearest first, with their squared
    /// distances, in `best` (which must hold at least `k` entries); returns how many were found (`min(k, count)`).
    /// `hint`: key indices likely to be near (the previous frame's neighbours), or empty.
    func nearest(_ query: UnsafePointer<Float>, k: Int, best: inout [(Float, Int)], hint: ArraySlice<(Float, Int)> = []) -> Int {
        let kk = min(k, count)
        guard kk > 0 else { return 0 }
        for j in 0..<kk { best[j] = (.infinity, 0) }
        // Upper bound of the k-th nearest distance: the farthest of k hinted keys (just above it, so that the hinted
        // key at exactly that distance is still taken).
        var bound = Float.infinity
        if hint.count >= kk {
            var farthest: Float = 0
            rows.withUnsafeBufferPointer { rb in
                for (_, i) in hint.prefix(kk) {
                    var s: Float = 0
                    for m in 0..<dimension { let e = rb[i * dimension + m] - query[m]; s += e * e }
                    farthest = Swift.max(farthest, s)
                }
            }
            bound = farthest.nextUp
        }
        var worst = bound
        let d = dimension, partial = min(d, Self.partialDimensions)
        let q0 = query[0]
        var q = [SIMD8<Float>](repeating: .zero, count: d)
        for m in 0..<d { q[m] = SIMD8(repeating: query[m]) }
        transposed.withUnsafeBufferPointer { tb in
            q.withUnsafeBufferPointer { qb in
                ids.withUnsafeBufferPointer { idb in
                    blockLow.withUnsafeBufferPointer { lo in
                        blockHigh.withUnsafeBufferPointer { hi in
                            let raw = UnsafeRawPointer(tb.baseAddress!)
                            // The smallest of 8 lanes, by plain comparisons (`any(acc .< worst)` and `pointwiseMin`
                            // compile to calls or lane-by-lane loops through memory here, slower than the distances).
                            @inline(__always) func smallest(_ v: SIMD8<Float>) -> Float {
                                Swift.min(Swift.min(Swift.min(v[0], v[1]), Swift.min(v[2], v[3])),
                                          Swift.min(Swift.min(v[4], v[5]), Swift.min(v[6], v[7])))
                            }
                            func visit(_ b: Int) {
                                let base = b * d * 32
                                var acc = SIMD8<Float>.zero
                                for m in 0..<partial {
                                    let e = raw.loadUnaligned(fromByteOffset: base + m * 32, as: SIMD8<Float>.self) - qb[m]
                                    acc += e * e
                                }
                                guard smallest(acc) < worst else { return }
                                for m in partial..<d {
                                    let e = raw.loadUnaligned(fromByteOffset: base + m * 32, as: SIMD8<Float>.self) - qb[m]
                                    acc += e * e
                                }
                                guard smallest(acc) < worst else { return }
                                for lane in 0..<8 where acc[lane] < worst {
                                    // Insert into the sorted list, dropping its last entry.
                                    let score = acc[lane]
                                    var j = kk - 1
                                    while j > 0 && best[j - 1].0 > score { best[j] = best[j - 1]; j -= 1 }
                                    best[j] = (score, Int(idb[b * 8 + lane]))
                                    worst = Swift.min(best[kk - 1].0, bound)
                                }
                            }
                            // First block whose last key is at or above q0 (or the last block).
                            var a = 0, z = blocks - 1
                            while a < z { let mid = (a + z) / 2; if hi[mid] < q0 { a = mid + 1 } else { z = mid } }
                            var up = a, down = a - 1
                            while up < blocks || down >= 0 {
                                let gapUp = up < blocks ? Swift.max(0, lo[up] - q0) : .infinity
                                let gapDown = down >= 0 ? Swift.max(0, q0 - hi[down]) : .infinity
                                let gap = Swift.min(gapUp, gapDown)
                                // Every key left differs from the query by at least `gap` in the first coordinate.
                                if gap * gap >= worst { break }
                                if gapUp <= gapDown { visit(up); up += 1 } else { visit(down); down -= 1 }
                            }
                        }
                    }
                }
            }
        }
        return kk
    }
}
