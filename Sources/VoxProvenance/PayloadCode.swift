/// The channel code of the watermark payload: 32 payload bits and a keyed CRC-16 (48 bits), then a rate-1/2
/// convolutional code of constraint length 7 (generators 171, 133 octal: the NASA/CCSDS code, free distance 10)
/// terminated with 6 zero bits, decoded by soft-decision Viterbi (Viterbi 1967). The CRC lets a decoded payload be
/// trusted: a wrong decode passes it with probability 2⁻¹⁶, and the key seeds it, so another key's payload fails.
enum PayloadCode {
    static let payloadBits = 32
    static let crcBits = 16
    static let constraintLength = 7
    static let generators: [UInt32] = [0o171, 0o133]
    /// Information bits: payload + CRC.
    static let infoBits = payloadBits + crcBits
    /// Coded bits per payload: (48 + 6 tail) × 2 = 108.
    static let codedBits = (infoBits + constraintLength - 1) * generators.count

    /// CRC-16/CCITT (polynomial 0x1021) of the payload's 4 bytes, big-endian, from a key-derived initial value.
    static func crc16(_ payload: UInt32, seed: UInt16) -> UInt16 {
        var crc = seed
        for shift in stride(from: 24, through: 0, by: -8) {
            crc ^= UInt16(UInt8(truncatingIfNeeded: payload >> UInt32(shift))) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    /// The 108 coded bits (0/1) of `payload`.
    static func encode(_ payload: UInt32, crcSeed: UInt16) -> [UInt8] {
        let crc = crc16(payload, seed: crcSeed)
        var info = [UInt8]()
        for i in (0..<payloadBits).reversed() { info.append(UInt8((payload >> UInt32(i)) & 1)) }
        for i in (0..<crcBits).reversed() { info.append(UInt8((crc >> UInt16(i)) & 1)) }
        info += [UInt8](repeating: 0, count: constraintLength - 1)
        var state: UInt32 = 0
        var out = [UInt8]()
        out.reserveCapacity(codedBits)
        for b in info {
            state = ((state << 1) | UInt32(b)) & ((1 << UInt32(constraintLength)) - 1)
            for g in generators { out.append(UInt8((state & g).nonzeroBitCount & 1)) }
        }
        return out
    }

    /// Soft-decision Viterbi decoding: `soft[i] > 0` favours coded bit 1. Returns the payload when its CRC checks.
    static func decode(_ soft: [Double], crcSeed: UInt16) -> UInt32? {
        precondition(soft.count == codedBits)
        let states = 1 << (constraintLength - 1)
        let steps = infoBits + constraintLength - 1
        var metric = [Double](repeating: -.infinity, count: states)
        metric[0] = 0
        // survivor[t][s] = the input bit and previous state that reached state s at step t
        var fromState = [[Int32]](repeating: [Int32](repeating: 0, count: states), count: steps)
        for t in 0..<steps {
            var next = [Double](repeating: -.infinity, count: states)
            let y0 = soft[2 * t], y1 = soft[2 * t + 1]
            let tail = t >= infoBits
            for s in 0..<states where metric[s] > -.infinity {
                for bit in 0...(tail ? 0 : 1) {
                    let reg = UInt32((s << 1) | bit)
                    let c0 = (reg & generators[0]).nonzeroBitCount & 1
                    let c1 = (reg & generators[1]).nonzeroBitCount & 1
                    let m = metric[s] + (c0 == 1 ? y0 : -y0) + (c1 == 1 ? y1 : -y1)
                    let ns = Int(reg) & (states - 1)
                    if m > next[ns] {
                        next[ns] = m
                        fromState[t][ns] = Int32(s)
                    }
                }
            }
            metric = next
        }
        // Terminated code: trace back from state 0.
        var bits = [UInt8](repeating: 0, count: steps)
        var s = 0
        for t in (0..<steps).reversed() {
            bits[t] = UInt8(s & 1)
            s = Int(fromState[t][s])
        }
        var payload: UInt32 = 0
        for i in 0..<payloadBits { payload = (payload << 1) | UInt32(bits[i]) }
        var crc: UInt16 = 0
        for i in 0..<crcBits { crc = (crc << 1) | UInt16(bits[payloadBits + i]) }
        return crc == crc16(payload, seed: crcSeed) ? payload : nil
    }
}
