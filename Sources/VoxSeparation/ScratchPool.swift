/// Large float buffers kept between separation windows.
///
/// Every window needs several buffers of tens of megabytes. Allocating them afresh costs more than the arithmetic
/// on them: each new 4 KiB page is faulted in and zeroed by the kernel (about 5–10 µs a page measured on the
/// development VM, i.e. ~0.1 s per 67 MB buffer). Buffers are moved out with `take` and back with `give`, so they are
/// never copied and their pages stay mapped.
final class ScratchPool {
    private var buffers: [String: [Float]] = [:]

    /// A buffer of exactly `count` elements, its storage reused when possible: zeros, or with `zeroed: false` (for
    /// callers that overwrite every element) the buffer's old contents when its size is unchanged, saving a pass.
    func take(_ key: String, count: Int, zeroed: Bool = true) -> [Float] {
        var b = buffers.removeValue(forKey: key) ?? []
        if !zeroed && b.count == count { return b }
        b.removeAll(keepingCapacity: true)
        b.append(contentsOf: repeatElement(0, count: count))
        return b
    }

    /// Returns a buffer for later reuse.
    func give(_ key: String, _ buffer: [Float]) { buffers[key] = buffer }
}
