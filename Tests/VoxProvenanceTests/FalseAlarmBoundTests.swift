import Foundation
import XCTest
@testable import VoxProvenance

/// The proven tail bound behind the detector's threshold (`FalseAlarmBound`).
final class FalseAlarmBoundTests: XCTestCase {
    func testGaussianTailAndConstantMatchKnownValues() {
        XCTAssertEqual(FalseAlarmBound.gaussianTail(0), 0.5, accuracy: 1e-15)
        XCTAssertEqual(FalseAlarmBound.gaussianTail(1.959963984540054), 0.025, accuracy: 1e-12)
        XCTAssertEqual(FalseAlarmBound.gaussianTail(3), 1.349898031630095e-3, accuracy: 1e-14)
        // Bentkus & Dzindzalieta (2015): c* = 1/(4·P(η ≥ √2)) ≈ 3.178.
        XCTAssertEqual(FalseAlarmBound.gaussianComparisonConstant, 3.178655565887, accuracy: 1e-9)
    }

    /// The bound is tight where Bentkus & Dzindzalieta say it is (two equal weights at t = √2: P = 1/4), never
    /// below the exact tail of equal-weight Rademacher sums, and the smaller of the two bounds.
    func testSingleOffsetBoundHoldsAndIsTheSmallerOne() {
        XCTAssertEqual(FalseAlarmBound.singleOffset(score: 2.0.squareRoot()), 0.25, accuracy: 1e-12)
        for n in [1, 2, 3, 5, 8, 16, 33, 100] {
            // S = Σ εᵢ/√n: P(S ≥ t) = P(Binomial(n, ½) ≥ (n + t√n)/2), exactly.
            var pmf = [Double](repeating: 0, count: n + 1)
            pmf[0] = pow(0.5, Double(n))
            for k in 1...n { pmf[k] = pmf[k - 1] * Double(n - k + 1) / Double(k) }
            for k in 0...n {
                let t = Double(2 * k - n) / Double(n).squareRoot()  // an atom of S
                let exact = pmf[k...].reduce(0, +)
                XCTAssertGreaterThanOrEqual(FalseAlarmBound.singleOffset(score: t) * (1 + 1e-12), exact, "n \(n), t \(t)")
            }
        }
        for t in stride(from: 0.1, through: 8, by: 0.1) {
            let b = FalseAlarmBound.singleOffset(score: t)
            XCTAssertLessThanOrEqual(b, exp(-t * t / 2))
            XCTAssertLessThanOrEqual(b, FalseAlarmBound.gaussianComparisonConstant * FalseAlarmBound.gaussianTail(t) + 1e-300)
            XCTAssertLessThan(FalseAlarmBound.singleOffset(score: t + 0.1), b)  // strictly decreasing
        }
        XCTAssertEqual(FalseAlarmBound.singleOffset(score: 0.5), exp(-0.125), accuracy: 1e-15)  // Hoeffding smaller here
        XCTAssertEqual(FalseAlarmBound.singleOffset(score: -1), 1)
    }

    func testThresholdInvertsTheUnionBound() {
        let t = FalseAlarmBound.threshold(falseAlarmProbability: 1e-4, offsets: 64)
        XCTAssertEqual(t, 4.894987445634, accuracy: 1e-9)
        XCTAssertEqual(FalseAlarmBound.probability(score: t, offsets: 64), 1e-4, accuracy: 1e-12)
        XCTAssertLessThan(t, (2 * log(64 / 1e-4)).squareRoot())  // below Hoeffding's 5.17
        XCTAssertEqual(WatermarkConfiguration.standard.threshold, t)
        // Monotone: fewer false alarms or more offsets need a higher score.
        XCTAssertGreaterThan(FalseAlarmBound.threshold(falseAlarmProbability: 1e-6, offsets: 64), t)
        XCTAssertGreaterThan(FalseAlarmBound.threshold(falseAlarmProbability: 1e-4, offsets: 128), t)
        XCTAssertEqual(FalseAlarmBound.probability(score: 0, offsets: 64), 1)
    }
}
