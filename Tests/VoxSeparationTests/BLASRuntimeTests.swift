import COpenBLAS
import XCTest
@testable import VoxSeparation

final class BLASRuntimeTests: XCTestCase {
    private let avx512: Set<String> = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]

    func testUpgradesOpenBLASFallbackCore() {
        XCTAssertEqual(BLASRuntime.betterCore(detected: "Prescott", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLASRuntime.betterCore(detected: "Prescott", cpuFlags: avx512.union(["avx512_bf16"])), "Cooperlake")
        XCTAssertEqual(BLASRuntime.betterCore(detected: "Core2", cpuFlags: ["sse2", "avx", "avx2", "fma"]), "Haswell")
        XCTAssertEqual(BLASRuntime.betterCore(detected: "Haswell", cpuFlags: avx512), "SkylakeX")
    }

    func testKeepsAGoodOrUnknownChoice() {
        XCTAssertNil(BLASRuntime.betterCore(detected: "Zen", cpuFlags: ["avx2", "fma"]))
        XCTAssertNil(BLASRuntime.betterCore(detected: "SkylakeX", cpuFlags: avx512))
        XCTAssertNil(BLASRuntime.betterCore(detected: "Prescott", cpuFlags: ["sse2", "sse3"]))
        XCTAssertNil(BLASRuntime.betterCore(detected: "Prescott", cpuFlags: []))
    }

    func testPreparedCoreComputesCorrectProducts() {
        // Whatever kernel was chosen for this CPU, a product must be exact on small integers.
        BLASRuntime.prepare()
        XCTAssertFalse(BLASRuntime.coreName.isEmpty)
        let m = 37, n = 29, k = 53
        let a = (0..<(m * k)).map { Float($0 % 7) - 3 }, b = (0..<(k * n)).map { Float($0 % 5) - 2 }
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += a[i * k + p] * b[p * n + j] }
                XCTAssertEqual(c[i * n + j], s, "c[\(i), \(j)]")
            }
        }
    }
}
