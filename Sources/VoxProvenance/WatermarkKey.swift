import Foundation
import VoxAudio

/// The secret that shapes the watermark pattern. Whoever holds it can detect (and forge) the mark.
///
/// Vox's default key is public on purpose: anyone with Vox can check whether audio came out of `vox convert`.
/// A label or a studio can use its own passphrase to make marks only it can find.
public struct WatermarkKey: Equatable, Sendable {
    /// SHA-256 of the passphrase, as 4 words that seed the pattern generators.
    let seedWords: [UInt64]
    /// A public identifier of the key (16 hex digits, a hash of the key: it does not reveal it).
    public let id: String

    /// A key from a passphrase (any text).
    public init(passphrase: String) {
        let digest = SHA256.hex(Data(("vox-watermark-key:" + passphrase).utf8))
        var words = [UInt64]()
        var i = digest.startIndex
        for _ in 0..<4 {
            let j = digest.index(i, offsetBy: 16)
            words.append(UInt64(digest[i..<j], radix: 16)!)
            i = j
        }
        seedWords = words
        id = String(SHA256.hex(Data(("vox-watermark-key-id:" + digest).utf8)).prefix(16))
    }

    /// The default key of Vox (public; marks made with it are detectable by every Vox).
    public static let vox = WatermarkKey(passphrase: "Vox default watermark key, version 1")

    /// A generator for one purpose (`domain`) of this key.
    func generator(_ domain: UInt64) -> SplitMix64 {
        SplitMix64(seed: seedWords[0] ^ (seedWords[1] &* 0x9E37_79B9_7F4A_7C15) ^ (domain &* 0xD1B5_4A32_D192_ED03))
    }

    /// The CRC's initial value: a wrong key's payload does not check.
    var crcSeed: UInt16 { UInt16(truncatingIfNeeded: seedWords[2]) }
}

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): a small,
/// well-mixed generator, plenty for a ±1 pattern and a permutation.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
