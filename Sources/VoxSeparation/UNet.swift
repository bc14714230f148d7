import Foundation
import VoxAudio

/// One stem's mask U-Net with inference-ready weights (batch norm folded into per-channel scale and shift).
///
/// Shapes are NHWC for one segment: H = time frames (T), W = frequency bins (F), C = channels, stored row-major as
/// `x[(h·W + w)·C + c]`. Layers (Spleeter's `apply_unet`):
/// - encoder i = 1…6: `conv_i` = 5×5 stride-2 "same" convolution (+bias); `bn_i`; LeakyReLU(0.2) feeds conv i+1.
/// - decoder i = 1…6: `up_i` = ReLU(5×5 stride-2 transposed convolution (+bias)); `bn_{6+i}`; then concatenated
///   after `conv_{6−i}` (the pre-norm encoder output) as input to deconv i+1. Deconv 1 reads `conv_6` itself.
/// - mask: sigmoid(4×4 convolution, dilation 2, "same") of `bn_12`, multiplied by the input magnitudes.
final class UNetWeights: Sendable {
    struct Conv: Sendable {
        /// [5·5·Cin, Cout]: the TF kernel [kh, kw, Cin, Cout] flattened as is.
        let kernel: GEMMOperand
        let bias: [Float]
        let inChannels: Int
        let outChannels: Int
        /// - Parameter kernel: [5·5·Cin, Cout] row-major.
        init(kernel: [Float], bias: [Float], inChannels: Int, outChannels: Int) {
            self.kernel = GEMMOperand(rowMajor: kernel, rows: 25 * inChannels, columns: outChannels)
            self.bias = bias
            self.inChannels = inChannels
            self.outChannels = outChannels
        }
    }
    struct Deconv: Sendable {
        /// [Cin, 5·5·Cout]: TF's [kh, kw, Cout, Cin] transposed so one GEMM maps input pixels to all taps.
        let kernel: GEMMOperand
        let bias: [Float]
        let inChannels: Int
        let outChannels: Int
        /// - Parameter kernel: [Cin, 5·5·Cout] row-major.
        init(kernel: [Float], bias: [Float], inChannels: Int, outChannels: Int) {
            self.kernel = GEMMOperand(rowMajor: kernel, rows: inChannels, columns: 25 * outChannels)
            self.bias = bias
            self.inChannels = inChannels
            self.outChannels = outChannels
        }
    }
    struct Norm: Sendable { let scale: [Float]; let shift: [Float] }

    let encoder: [Conv]
    let decoder: [Deconv]
    let norms: [Norm]
    /// Final 4×4 dilated convolution, TF layout [4, 4, 1, outChannels].
    let maskKernel: [Float]
    let maskBias: [Float]
    let inputChannels: Int
    let leakySlope: Float

    init(model: VoxModelFile, stem: String, configuration cfg: SpleeterConfiguration) throws {
        let f = cfg.convFilters
        let c0 = cfg.channels
        var enc = [Conv]()
        var cin = c0
        for i in 0..<6 {
            let k = try model.tensor("\(stem)/conv\(i + 1)/kernel", shape: [5, 5, cin, f[i]])
            let b = try model.tensor("\(stem)/conv\(i + 1)/bias", shape: [f[i]])
            enc.append(Conv(kernel: k.values, bias: b.values, inChannels: cin, outChannels: f[i]))
            cin = f[i]
        }
        // Decoder channel plan: deconv1 512→256, then (skip + up) → next.
        let outs = [f[4], f[3], f[2], f[1], f[0], 1]
        let ins = [f[5], 2 * f[4], 2 * f[3], 2 * f[2], 2 * f[1], 2 * f[0]]
        var dec = [Deconv]()
        for i in 0..<6 {
            let k = try model.tensor("\(stem)/deconv\(i + 1)/kernel", shape: [5, 5, outs[i], ins[i]])
            let b = try model.tensor("\(stem)/deconv\(i + 1)/bias", shape: [outs[i]])
            var t = [Float](repeating: 0, count: ins[i] * 25 * outs[i])
            for tap in 0..<25 {
                for co in 0..<outs[i] {
                    for ci in 0..<ins[i] { t[ci * 25 * outs[i] + tap * outs[i] + co] = k.values[(tap * outs[i] + co) * ins[i] + ci] }
                }
            }
            dec.append(Deconv(kernel: t, bias: b.values, inChannels: ins[i], outChannels: outs[i]))
        }
        var norms = [Norm]()
        let normSizes = f + outs
        for i in 0..<12 {
            let n = normSizes[i]
            let g = try model.tensor("\(stem)/bn\(i + 1)/gamma", shape: [n]).values
            let b = try model.tensor("\(stem)/bn\(i + 1)/beta", shape: [n]).values
            let m = try model.tensor("\(stem)/bn\(i + 1)/mean", shape: [n]).values
            let v = try model.tensor("\(stem)/bn\(i + 1)/variance", shape: [n]).values
            let scale = (0..<n).map { g[$0] / (v[$0] + cfg.batchNormEpsilon).squareRoot() }
            norms.append(Norm(scale: scale, shift: (0..<n).map { b[$0] - m[$0] * scale[$0] }))
        }
        encoder = enc
        decoder = dec
        self.norms = norms
        maskKernel = try model.tensor("\(stem)/mask/kernel", shape: [4, 4, 1, c0]).values
        maskBias = try model.tensor("\(stem)/mask/bias", shape: [c0]).values
        inputChannels = c0
        leakySlope = cfg.leakySlope
    }
}

/// Scratch memory for one U-Net evaluation, reused across segments (fresh pages are expensive to fault in).
final class UNetWorkspace {
    /// Encoder outputs before normalisation (`conv_i`), kept for the skip connections; conv i+1 gathers its
    /// normalised and activated input from them directly.
    var convOut: [[Float]] = []
    /// Decoder outputs, ping-pong: deconv i writes `decoded[i % 2]` and reads `decoded[(i + 1) % 2]`.
    var decoded: [[Float]] = [[], []]
    /// im2col / GEMM scratch.
    var columns: [Float] = []

    static func ensure(_ a: inout [Float], _ n: Int) { if a.count < n { a = [Float](repeating: 0, count: n) } }
}

/// Evaluates a U-Net on one segment.
///
/// - Parameters:
///   - input: magnitudes `[T, F, C]` (NHWC).
///   - output: receives the stem's magnitude estimate `[T, F, C]` = sigmoid(mask) · input.
func evaluateUNet(_ w: UNetWeights, input: UnsafeBufferPointer<Float>, height: Int, width: Int,
                  output: UnsafeMutableBufferPointer<Float>, workspace ws: UNetWorkspace) {
    if ws.convOut.count != 6 { ws.convOut = Array(repeating: [], count: 6) }
    var h = height, wd = width
    // Encoder.
    for i in 0..<6 {
        let conv = w.encoder[i]
        let oh = h / 2, ow = wd / 2
        UNetWorkspace.ensure(&ws.convOut[i], oh * ow * conv.outChannels)
        var out = ws.convOut[i]
        ws.convOut[i] = []  // hold the storage uniquely in `out` while the previous output is read
        out.withUnsafeMutableBufferPointer { o in
            if i == 0 {
                conv2dStride2(input, height: h, width: wd, conv: conv, output: o, scratch: &ws.columns)
            } else {
                // Input: LeakyReLU(bn_i(conv_i)) (conv6's own norm feeds nothing).
                ws.convOut[i - 1].withUnsafeBufferPointer { x in
                    conv2dStride2(x, height: h, width: wd, conv: conv, activation: (w.norms[i - 1], w.leakySlope),
                                  output: o, scratch: &ws.columns)
                }
            }
        }
        ws.convOut[i] = out
        h = oh; wd = ow
    }
    // Decoder: deconv1 reads conv6; deconv i+1 reads [conv_{6-i} | bn(up_i)].
    for i in 0..<6 {
        let d = w.decoder[i]
        let oh = h * 2, ow = wd * 2
        let current = i % 2, previous = 1 - current
        UNetWorkspace.ensure(&ws.decoded[current], oh * ow * d.outChannels)
        var out = ws.decoded[current]
        ws.decoded[current] = []  // hold the storage uniquely in `out` while the other buffer is read
        out.withUnsafeMutableBufferPointer { o in
            if i == 0 {
                ws.convOut[5].withUnsafeBufferPointer { x in
                    deconv2dStride2(parts: [(x, d.inChannels)], height: h, width: wd, deconv: d, norm: w.norms[6 + i],
                                    output: o, scratch: &ws.columns)
                }
            } else {
                let skipChannels = d.inChannels / 2
                ws.convOut[5 - i].withUnsafeBufferPointer { skip in
                    ws.decoded[previous].withUnsafeBufferPointer { prev in
                        deconv2dStride2(parts: [(skip, skipChannels), (prev, skipChannels)], height: h, width: wd,
                                        deconv: d, norm: w.norms[6 + i], output: o, scratch: &ws.columns)
                    }
                }
            }
        }
        h = oh; wd = ow  // (deconv i applied ReLU, then bn_{7+i})
        ws.decoded[current] = out
    }
    // Mask: sigmoid(4×4 dilated conv of bn12) × input.
    ws.decoded[1].withUnsafeBufferPointer { x in  // deconv 6 (i = 5) wrote buffer 1
        maskLayer(x, height: h, width: wd, kernel: w.maskKernel, bias: w.maskBias, channels: w.inputChannels,
                  input: input, output: output)
    }
}

/// `bias` (one value per channel) into each of `pixels` consecutive channels-last pixels of `out`: the products add
/// to it. A plain loop: per pixel it is a few dozen floats, where a `memmove` call cost more than the copy.
private func fillBias(_ out: UnsafeMutablePointer<Float>, pixels: Int, bias: [Float]) {
    bias.withUnsafeBufferPointer { b in
        let c = b.count
        for p in 0..<pixels {
            let o = out + p * c
            for k in 0..<c { o[k] = b[k] }
        }
    }
}

/// Rows of a layer's output (or input, for the transposed convolution) per GEMM call. The GEMM's result and its packed
/// operand should stay in the core's L2 cache (2¹⁸ floats, 1 MiB, here) for the passes that follow it (scatter,
/// bias, packing); but each call also repacks the kernel matrix, so a call covers at least ~512 pixels.
func gemmChunkRows(rows: Int, width: Int, rowFloats: Int) -> Int {
    let cacheRows = (1 << 18) / max(1, rowFloats)
    let packingRows = (512 + width - 1) / max(1, width)
    return max(1, min(rows, max(cacheRows, packingRows)))
}

/// 5×5, stride 2, TF "same" padding (1 before, 2 after): output (H/2, W/2, Cout).
///
/// With the native product (`conv.kernel.isPacked`) the input is copied once into a zero-padded buffer and the
/// kernel reads each patch from it in place (`vox_conv5x5s2_packed`); otherwise patches are gathered (im2col) in row
/// chunks for OpenBLAS. Both sum in the same order. With `activation`, `x` is the previous convolution's raw output
/// and the convolution's input is `LeakyReLU(x·scale + shift)` (the encoder's batch norm), computed while copying.
/// Copies are plain loops: most are a few dozen floats, where a `memmove` call cost more than the copy.
func conv2dStride2(_ x: UnsafeBufferPointer<Float>, height h: Int, width w: Int, conv: UNetWeights.Conv,
                   activation: (norm: UNetWeights.Norm, leakySlope: Float)? = nil,
                   output: UnsafeMutableBufferPointer<Float>, scratch: inout [Float]) {
    let oh = h / 2, ow = w / 2, cin = conv.inChannels, cout = conv.outChannels
    let k = 25 * cin, wp = w + 3
    let implicit = conv.kernel.isPacked
    let rowsPerChunk = gemmChunkRows(rows: oh, width: ow, rowFloats: ow * k)
    UNetWorkspace.ensure(&scratch, implicit ? (h + 3) * wp * cin : rowsPerChunk * ow * k)
    let scale = activation?.norm.scale ?? [], shift = activation?.norm.shift ?? []
    let leaky = activation?.leakySlope ?? 1, activated = activation != nil
    scratch.withUnsafeMutableBufferPointer { buffer in scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
        /// `pixels` neighbouring input pixels from `src` to `dst`, activated when asked.
        func gather(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, pixels: Int) {
            guard activated else {
                if pixels == 5 && cin == 2 {  // the first layer's stereo input: one fixed-size copy
                    UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(dst + 8).storeBytes(of: UnsafeRawPointer(src + 8).loadUnaligned(as: SIMD2<Float>.self), as: SIMD2<Float>.self)
                    return
                }
                for j in 0..<(pixels * cin) { dst[j] = src[j] }
                return
            }
            for p in 0..<pixels {
                let d = dst + p * cin, s = src + p * cin
                for c in 0..<cin {
                    let v = s[c] * sc[c] + sh[c]
                    d[c] = v >= 0 ? v : v * leaky
                }
            }
        }
        func zero(_ dst: UnsafeMutablePointer<Float>, count: Int) { for j in 0..<count { dst[j] = 0 } }
        if implicit {
            // Padded input: one zero row and column before, two after.
            let padded = buffer.baseAddress!
            zero(padded, count: wp * cin)
            for iy in 0..<h {
                let row = padded + (iy + 1) * wp * cin
                zero(row, count: cin)
                gather(row + cin, x.baseAddress! + iy * w * cin, pixels: w)
                zero(row + (w + 1) * cin, count: 2 * cin)
            }
            zero(padded + (h + 1) * wp * cin, count: 2 * wp * cin)
            fillBias(output.baseAddress!, pixels: oh * ow, bias: conv.bias)
            conv.kernel.convolve5x5Stride2(padded: padded, paddedWidth: wp, channels: cin, outputHeight: oh,
                                           outputWidth: ow, into: output.baseAddress!)
            return
        }
        var r0 = 0
        while r0 < oh {
            let r1 = min(oh, r0 + rowsPerChunk)
            // Gather patches: col[(r·ow + c), (kh·5 + kw)·cin + ci]. The 5 taps of a kernel row are 5 neighbouring
            // input pixels, contiguous in both the input and the patch: one copy of 5·cin floats when all are inside.
            for r in r0..<r1 {
                for c in 0..<ow {
                    let dst = buffer.baseAddress! + ((r - r0) * ow + c) * k
                    for kh in 0..<5 {
                        let iy = 2 * r + kh - 1
                        let rowDst = dst + kh * 5 * cin
                        if iy < 0 || iy >= h {
                            zero(rowDst, count: 5 * cin)
                        } else if 2 * c - 1 >= 0 && 2 * c + 3 < w {
                            gather(rowDst, x.baseAddress! + (iy * w + 2 * c - 1) * cin, pixels: 5)
                        } else {
                            for kw in 0..<5 {
                                let ix = 2 * c + kw - 1
                                let d = rowDst + kw * cin
                                if ix < 0 || ix >= w {
                                    zero(d, count: cin)
                                } else {
                                    gather(d, x.baseAddress! + (iy * w + ix) * cin, pixels: 1)
                                }
                            }
                        }
                    }
                }
            }
            let m = (r1 - r0) * ow
            let out = output.baseAddress! + r0 * ow * cout
            fillBias(out, pixels: m, bias: conv.bias)  // then C = col · W + C
            conv.kernel.multiply(buffer.baseAddress!, m: m, lda: k, into: out, ldc: cout, accumulate: true)
            r0 = r1
        }
    } } }
}

/// 5×5, stride 2 transposed convolution, TF "same": output (2H, 2W, Cout), `out[2i+kh−1, 2j+kw−1] += x[i, j]·k[kh, kw]`,
/// plus bias, then (when `norm` is given) ReLU and the batch norm's affine map.
///
/// The input may be the channel-concatenation of several parts (each [H, W, C_p]); each part is one GEMM into the
/// per-pixel tap matrix, then taps are scattered into the output. Input row r touches output rows 2r−1…2r+3, so
/// output rows get their bias just before input row r first touches them and are normalised as soon as row r has
/// completed them, while they are still in cache (no separate bias and normalisation passes over the output).
func deconv2dStride2(parts: [(UnsafeBufferPointer<Float>, Int)], height h: Int, width w: Int,
                     deconv d: UNetWeights.Deconv, norm: UNetWeights.Norm? = nil,
                     output: UnsafeMutableBufferPointer<Float>, scratch: inout [Float]) {
    let oh = 2 * h, ow = 2 * w, cout = d.outChannels
    let n = 25 * cout
    let rowFloats = ow * cout
    var biased = 0, finished = 0  // output rows 0..<biased hold the bias (or more); 0..<finished are final
    func addBias(upTo end: Int) {
        while biased < min(end, oh) {
            fillBias(output.baseAddress! + biased * ow * cout, pixels: ow, bias: d.bias)
            biased += 1
        }
    }
    func finish(upTo end: Int) {
        let stop = min(end, oh)
        guard let norm, finished < stop else { finished = max(finished, stop); return }
        norm.scale.withUnsafeBufferPointer { sc in
            norm.shift.withUnsafeBufferPointer { sh in
                let x = output.baseAddress! + finished * rowFloats
                var i = 0
                while i < (stop - finished) * rowFloats {
                    for k in 0..<cout { x[i + k] = max(x[i + k], 0) * sc[k] + sh[k] }
                    i += cout
                }
            }
        }
        finished = stop
    }
    let cin = parts.reduce(0) { $0 + $1.1 }
    let rowsPerChunk = gemmChunkRows(rows: h, width: w, rowFloats: w * n)
    // Scratch: the chunk's taps, then (for several parts) the chunk's input rows with the parts side by side, so that
    // one GEMM over all input channels fills the taps (one pass over them instead of one per part).
    let tapFloats = rowsPerChunk * w * n
    UNetWorkspace.ensure(&scratch, tapFloats + (parts.count > 1 ? rowsPerChunk * w * cin : 0))
    scratch.withUnsafeMutableBufferPointer { buffer in
        let taps = buffer.baseAddress!, joined = buffer.baseAddress! + tapFloats
        var r0 = 0
        while r0 < h {
            let r1 = min(h, r0 + rowsPerChunk)
            let m = (r1 - r0) * w
            let a: UnsafePointer<Float>
            if parts.count == 1 {
                a = parts[0].0.baseAddress! + r0 * w * cin
            } else {
                var channelOffset = 0
                for (x, c) in parts {
                    let src = x.baseAddress! + r0 * w * c
                    for p in 0..<m {  // a plain loop: a memmove call per pixel cost more than its 16–256 floats
                        let from = src + p * c, to = joined + p * cin + channelOffset
                        for j in 0..<c { to[j] = from[j] }
                    }
                    channelOffset += c
                }
                a = UnsafePointer(joined)
            }
            d.kernel.multiply(a, m: m, lda: cin, into: taps, ldc: n, accumulate: false)
            for r in r0..<r1 {
                addBias(upTo: 2 * r + 4)
                // Kernel row by kernel row: each output pixel still receives its taps in input-pixel order.
                for kh in 0..<5 {
                    let oy = 2 * r + kh - 1
                    if oy < 0 || oy >= oh { continue }
                    let outRow = output.baseAddress! + oy * ow * cout
                    let tapRow = taps + (r - r0) * w * n + kh * 5 * cout
                    for c in 0..<w {
                        let src = tapRow + c * n
                        let o = outRow + (2 * c - 1) * cout  // output pixel of kw = 0
                        if c > 0 && 2 * c + 3 < ow {
                            if cout == 1 {  // the last layer: 5 scalars, no inner loop
                                o[0] += src[0]; o[1] += src[1]; o[2] += src[2]; o[3] += src[3]; o[4] += src[4]
                            } else {
                                for j in 0..<(5 * cout) { o[j] += src[j] }  // 5 neighbouring pixels: contiguous
                            }
                            continue
                        }
                        for kw in 0..<5 {
                            let ox = 2 * c + kw - 1
                            if ox < 0 || ox >= ow { continue }
                            for co in 0..<cout { o[kw * cout + co] += src[kw * cout + co] }
                        }
                    }
                }
                finish(upTo: 2 * r + 1)  // row 2r+1 still gets row r+1's kh = 0 taps
            }
            r0 = r1
        }
    }
    finish(upTo: oh)
}

/// 4×4 convolution with dilation 2 and TF "same" padding (3 before, 3 after) from 1 channel to `channels`,
/// sigmoid, times the input magnitudes. Accumulates whole rows per tap so the inner loop is a vector multiply-add.
func maskLayer(_ x: UnsafeBufferPointer<Float>, height h: Int, width w: Int, kernel: [Float], bias: [Float],
                       channels: Int, input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) {
    let acc = UnsafeMutableBufferPointer<Float>.allocate(capacity: channels * w)
    let gate = UnsafeMutableBufferPointer<Float>.allocate(capacity: channels * w)
    defer { acc.deallocate(); gate.deallocate() }
    kernel.withUnsafeBufferPointer { k in
        for y in 0..<h {
            for c in 0..<channels { (acc.baseAddress! + c * w).update(repeating: bias[c], count: w) }
            for kh in 0..<4 {
                let iy = y + 2 * kh - 3
                if iy < 0 || iy >= h { continue }
                let row = x.baseAddress! + iy * w
                for kw in 0..<4 {
                    let shift = 2 * kw - 3
                    let lo = max(0, -shift), hi = min(w, w - shift)
                    // Offset pointers keep the inner index a plain counter (no overflow check), so it vectorises.
                    let src = row + shift
                    for c in 0..<channels {
                        let g = k[(kh * 4 + kw) * channels + c]
                        let a = acc.baseAddress! + c * w
                        for xo in lo..<hi { a[xo] += g * src[xo] }
                    }
                }
            }
            let o = (y * w) * channels
            for xo in 0..<w {
                for c in 0..<channels { gate[xo * channels + c] = acc[c * w + xo] }
            }
            VectorMath.sigmoidGate(gate.baseAddress!, scale: input.baseAddress! + o, into: output.baseAddress! + o,
                                   count: w * channels)
        }
    }
}
