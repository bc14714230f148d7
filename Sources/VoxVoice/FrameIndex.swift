import CVoxKernels
import Foundation

/// Exact k-nearest-neighbour search (squared Euclidean) over a fixed set of short vectors: the voice model's bank
/// keys that `VoiceConverter` retrieves frames from.
///
/// The keys are stored transposed in blocks of 8 (`dimension` rows of 8 lanes per block). A query scores every key
/// in one pass (`vox_block_distances`: AVX2 where the CPU has it, 8 keys per instruction) and keeps the `k`
/// smallest: a block whose smallest distance is no better than the k-th best so far is skipped whole. A caller can
/// pass the previous query's neighbours as a hint: consecutive frames of a voice are alike, so the largest
/// distance from the new query to those `k` keys bounds its k-th nearest from the start and most blocks are
/// skipped at once. The result is the brute-force one (ties aside).
///
/// Why a full scan: in the 10 normalised mel-cepstral dimensions of the search, the `k` = 64 nearest of 12 000
/// keys lie far apart, and the pruned searches tried measured no better. Keys sorted by c1 and walked outwards
/// from the query's c1 visited 76 % of the blocks (the 4-coordinate partial check passed 92 % of those); a k-d
/// split into leaves of 32 keys with bounding boxes took 16 % of a conversion's CPU time against 18 %. What was
/// slow was the arithmetic: Swift compiles `SIMD8<Float>` for the x86-64 baseline as two SSE halves. The C kernel
/// takes the search from 16–18 % to 12 % (4 % the distances, 7 % keeping the k best; perf, one core, vocadito S1
/// 33 s), output sample-identical.
struct FrameIndex: Sendable {
    /// Keys (`count`) and dimensions per key.
    let count: Int
    let dimension: Int
    /// `blocks × dimension × 8` floats: block `b`, dimension `m`, lane `l` at `(b·dimension + m)·8 + l` (key
    /// `b·8 + l`). Padding lanes hold a huge value so they are never chosen.
    let transposed: [Float]

    var blocks: Int { (count + 7) / 8 }

    /// - Parameters: `keys`: `count × stride` floats, row-major; the first `dimension` (≥ 1) of each row are the key.
    init(keys: [Float], count: Int, stride: Int, dimension: Int) {
        precondition(dimension >= 1 && dimension <= stride && keys.count >= count * stride, "keys too short")
        self.count = count
        self.dimension = dimension
        let blocks = (count + 7) / 8
        var t = [Float](repeating: 1e15, count: blocks * dimension * 8)
        for i in 0..<count {
            let b = i / 8, lane = i % 8
            for m in 0..<dimension { t[(b * dimension + m) * 8 + lane] = keys[i * stride + m] }
        }
        transposed = t
    }

    /// Indices of the `k` keys nearest to `query` (`dimension` values), nearest first, with their squared
    /// distances, in `best` (which must hold at least `k` entries); returns how many were found (`min(k, count)`).
    /// `hint`: key indices likely to be near (the previous frame's neighbours), or empty.
    func nearest(_ query: UnsafePointer<Float>, k: Int, best: inout [(Float, Int)], hint: ArraySlice<(Float, Int)> = []) -> Int {
        let kk = min(k, count)
        guard kk > 0 else { return 0 }
        for j in 0..<kk { best[j] = (.infinity, 0) }
        // Upper bound of the k-th nearest distance: the farthest of k hinted keys (just above it, so that the hinted
        // key at exactly that distance is still taken). Products then sums, coordinate by coordinate, as the kernel.
        var bound = Float.infinity
        if hint.count >= kk {
            var farthest: Float = 0
            transposed.withUnsafeBufferPointer { tb in
                for (_, i) in hint.prefix(kk) {
                    let key = tb.baseAddress! + (i / 8) * dimension * 8 + i % 8   // coordinate m at key[m·8]
                    var s: Float = 0
                    for m in 0..<dimension { let e = key[m * 8] - query[m]; s += e * e }
                    farthest = Swift.max(farthest, s)
                }
            }
            bound = farthest.nextUp
        }
        let B = blocks
        withUnsafeTemporaryAllocation(of: Float.self, capacity: B * 9) { scratch in
            let distance = scratch.baseAddress!, blockMinimum = distance + B * 8
            transposed.withUnsafeBufferPointer { tb in
                vox_block_distances(tb.baseAddress!, B, dimension, query, distance, blockMinimum)
            }
            var worst = bound
            best.withUnsafeMutableBufferPointer { bb in
                for b in 0..<B where blockMinimum[b] < worst {
                    for lane in 0..<8 where distance[b * 8 + lane] < worst {
                        // Insert into the sorted list, dropping its last entry.
                        let score = distance[b * 8 + lane]
                        var j = kk - 1
                        while j > 0 && bb[j - 1].0 > score { bb[j] = bb[j - 1]; j -= 1 }
                        bb[j] = (score, b * 8 + lane)
                        worst = Swift.min(bb[kk - 1].0, bound)
                    }
                }
            }
        }
        return kk
    }
}
