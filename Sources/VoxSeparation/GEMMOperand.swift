import COpenBLAS
import CVoxKernels
import Foundation

/// The constant right-hand matrix `B` (`rows × columns`, the network's weights) of products `C = A·B`, stored for the
/// fastest kernel this CPU has.
///
/// Where the CPU has AVX-512 and `columns` is a multiple of 16, `B` is packed once into column panels for Vox's own
/// AVX-512 kernel (`vox_gemm_packed`); otherwise it is kept row-major for OpenBLAS's `sgemm`. The native kernel makes
/// the products independent of `OPENBLAS_CORETYPE`: environments that pin OpenBLAS to its AVX2 ("Haswell") kernels
/// ran the U-Net's products at ~115 GFLOP/s per core on an AVX-512 CPU, the native kernel at ~210–240 (measured on a
/// Zen 5 VM; as fast as OpenBLAS's own SkylakeX kernels). `VOX_GEMM=openblas` in the environment keeps OpenBLAS.
struct GEMMOperand: Sendable {
    /// Row-major `B`, or its panels (see `vox_kernels.h`) when `isPacked`.
    let values: [Float]
    let rows: Int
    let columns: Int
    let isPacked: Bool

    /// Whether the native kernel runs here: AVX-512F present and not switched off by `VOX_GEMM=openblas`.
    static let nativeAvailable: Bool =
        ProcessInfo.processInfo.environment["VOX_GEMM"] != "openblas" && vox_gemm_available() != 0

    /// - Parameters:
    ///   - matrix: `B` row-major, `rows × columns`.
    ///   - native: use the native kernel when it can run (tests compare both paths).
    init(rowMajor matrix: [Float], rows: Int, columns: Int, native: Bool = GEMMOperand.nativeAvailable) {
        precondition(matrix.count == rows * columns)
        self.rows = rows
        self.columns = columns
        isPacked = native && columns % 16 == 0
        guard isPacked else { values = matrix; return }
        let panel = Int(VOX_GEMM_PANEL)
        var packed = [Float](repeating: 0, count: matrix.count)
        packed.withUnsafeMutableBufferPointer { p in
            matrix.withUnsafeBufferPointer { b in
                var j = 0
                while j < columns {
                    let width = min(panel, columns - j)
                    for r in 0..<rows {
                        (p.baseAddress! + j * rows + r * width).update(from: b.baseAddress! + r * columns + j, count: width)
                    }
                    j += width
                }
            }
        }
        values = packed
    }

    /// `out += patches · B` for the U-Net's 5×5 stride-2 convolution, reading the patches in place from a zero-padded
    /// input (`vox_conv5x5s2_packed`): `B` is the kernel [5·5·channels, Cout]; `out` ([outputHeight, outputWidth,
    /// Cout]) holds the bias. Only for a packed operand.
    func convolve5x5Stride2(padded: UnsafePointer<Float>, paddedWidth: Int, channels: Int, outputHeight: Int,
                            outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(isPacked && rows == 25 * channels)
        values.withUnsafeBufferPointer { b in
            vox_conv5x5s2_packed(outputHeight, outputWidth, columns, channels, padded, paddedWidth, b.baseAddress, out)
        }
    }

    /// `C = A·B`, or `C += A·B` when `accumulate`: `A` is `m × rows` with row stride `lda`, `C` is `m × columns` with
    /// row stride `ldc`.
    func multiply(_ a: UnsafePointer<Float>, m: Int, lda: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                  accumulate: Bool) {
        values.withUnsafeBufferPointer { b in
            if isPacked {
                vox_gemm_packed(m, columns, rows, a, lda, b.baseAddress, c, ldc, accumulate ? 1 : 0)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(columns), Int32(rows), 1,
                            a, Int32(lda), b.baseAddress, Int32(columns), accumulate ? 1 : 0, c, Int32(ldc))
            }
        }
    }
}
