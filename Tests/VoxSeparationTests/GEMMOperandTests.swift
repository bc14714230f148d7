import XCTest
@testable import VoxSeparation

/// The native (AVX-512) product against OpenBLAS's on shapes that cover its edge cases.
final class GEMMOperandTests: XCTestCase {
    /// Row counts that are not multiples of the 8-row tile nor of the 96-row block, depths over the 256-step block,
    /// a 16-column last panel, row strides larger than the rows, with and without accumulation.
    func testNativeProductMatchesOpenBLAS() throws {
        guard GEMMOperand.nativeAvailable else { throw XCTSkip("no AVX-512 on this CPU") }
        for (m, k, n) in [(1, 3, 16), (37, 300, 48), (101, 513, 64), (8, 256, 32)] {
            let lda = k + 5, ldc = n + 16
            let a = weylValues(m * lda, seed: UInt64(m + k)), b = weylValues(k * n, seed: UInt64(n))
            let start = weylValues(m * ldc, seed: 99)
            let native = GEMMOperand(rowMajor: b, rows: k, columns: n, native: true)
            let blas = GEMMOperand(rowMajor: b, rows: k, columns: n, native: false)
            XCTAssertTrue(native.isPacked)
            XCTAssertFalse(blas.isPacked)
            for accumulate in [false, true] {
                var x = start, y = start
                a.withUnsafeBufferPointer { ap in
                    x.withUnsafeMutableBufferPointer { native.multiply(ap.baseAddress!, m: m, lda: lda, into: $0.baseAddress!, ldc: ldc, accumulate: accumulate) }
                    y.withUnsafeMutableBufferPointer { blas.multiply(ap.baseAddress!, m: m, lda: lda, into: $0.baseAddress!, ldc: ldc, accumulate: accumulate) }
                }
                for r in 0..<m {
                    for c in 0..<ldc {
                        let i = r * ldc + c
                        if c < n {
                            XCTAssertEqual(x[i], y[i], accuracy: 1e-4 * Float(k).squareRoot(), "m \(m) k \(k) n \(n) [\(r), \(c)]")
                        } else {
                            XCTAssertEqual(x[i], start[i], "padding of row \(r) written")
                        }
                    }
                }
            }
        }
    }

    func testColumnsNotAMultipleOf16StayWithOpenBLAS() {
        XCTAssertFalse(GEMMOperand(rowMajor: weylValues(3 * 25, seed: 1), rows: 3, columns: 25, native: true).isPacked)
    }
}
