import XCTest
@testable import VoxSeparation

/// Deterministic values in [-1, 1) (a Weyl sequence: no generator state to share between tests).
func weylValues(_ n: Int, seed: UInt64) -> [Float] {
    (0..<n).map { i in Float((Double(i) * 0.618_033_988_75 + Double(seed) * 0.414_213_562).truncatingRemainder(dividingBy: 1)) * 2 - 1 }
}

/// The encoder's batch norm + LeakyReLU fused into the convolution's patch gathering.
final class ConvolutionActivationTests: XCTestCase {
    /// Convolving raw values with `activation` equals convolving their activated copy (zero padding stays zero);
    /// 16 output channels take the native product where it runs.
    func testActivationInTheGatherEqualsAnActivatedInput() {
        let h = 10, w = 14, cin = 3, cout = 16, leaky: Float = 0.2
        let x = weylValues(h * w * cin, seed: 21)
        let conv = UNetWeights.Conv(kernel: weylValues(25 * cin * cout, seed: 22), bias: weylValues(cout, seed: 23),
                                    inChannels: cin, outChannels: cout)
        let norm = UNetWeights.Norm(scale: weylValues(cin, seed: 24), shift: weylValues(cin, seed: 25))
        let activated = x.indices.map { i -> Float in
            let v = x[i] * norm.scale[i % cin] + norm.shift[i % cin]
            return v >= 0 ? v : v * leaky
        }
        var fused = [Float](repeating: .nan, count: (h / 2) * (w / 2) * cout), plain = fused
        var scratch = [Float]()
        x.withUnsafeBufferPointer { xp in
            fused.withUnsafeMutableBufferPointer {
                conv2dStride2(xp, height: h, width: w, conv: conv, activation: (norm, leaky), output: $0, scratch: &scratch)
            }
        }
        activated.withUnsafeBufferPointer { ap in
            plain.withUnsafeMutableBufferPointer { conv2dStride2(ap, height: h, width: w, conv: conv, output: $0, scratch: &scratch) }
        }
        XCTAssertEqual(fused, plain)
        XCTAssertTrue(fused.allSatisfy { $0.isFinite })
    }
}
