import COpenBLAS
import Foundation

/// OpenBLAS set-up, done once before the first matrix product.
///
/// Debian's OpenBLAS (0.3.21, `DYNAMIC_ARCH`) picks its kernels from a table of CPU models it knew when it was built.
/// On newer CPUs it falls back to its oldest x86-64 kernel ("Prescott", SSE3): measured on a Sapphire Rapids VM, a
/// 1024³ `sgemm` ran at 24 GFLOP/s per core with it against 100–110 with the SkylakeX/Cooperlake kernels its own
/// library carries — the U-Net runs 4–5× slower for nothing. When the user has not chosen a core
/// (`OPENBLAS_CORETYPE`) and the detected one is weaker than what the CPU's own feature flags support, OpenBLAS is
/// re-initialised with the matching core through its exported `gotoblas_dynamic_quit` / `gotoblas_dynamic_init`
/// (no-ops where the library is not a `DYNAMIC_ARCH` build).
public enum BLASRuntime {
    /// Prepares OpenBLAS: best kernel for this CPU, one BLAS thread (Vox parallelises itself; BLAS threads on top
    /// would oversubscribe the cores). Idempotent and thread-safe.
    public static func prepare() { _ = setUp }

    /// The kernel family OpenBLAS runs (e.g. "SkylakeX", "Haswell", "Zen").
    public static var coreName: String { prepare(); return String(cString: openblas_get_corename()) }

    private static let setUp: Void = {
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
           let better = betterCore(detected: String(cString: openblas_get_corename()), cpuFlags: cpuFlags()),
           let handle = dlopen(nil, RTLD_NOW),
           let quit = dlsym(handle, "gotoblas_dynamic_quit"), let initialise = dlsym(handle, "gotoblas_dynamic_init") {
            typealias Hook = @convention(c) () -> Void
            setenv("OPENBLAS_CORETYPE", better, 1)
            unsafeBitCast(quit, to: Hook.self)()
            unsafeBitCast(initialise, to: Hook.self)()
            unsetenv("OPENBLAS_CORETYPE")
        }
        openblas_set_num_threads(1)
    }()

    /// The core to force, or nil to keep OpenBLAS's choice. Only upgrades: a core OpenBLAS chose itself that is at
    /// least as strong as the CPU flags allow (e.g. "Zen" on an AVX2 EPYC) is kept.
    static func betterCore(detected: String, cpuFlags: Set<String>) -> String? {
        func rank(_ core: String) -> Int {
            switch core.lowercased() {
            case "sapphirerapids", "cooperlake", "skylakex": return 3
            case "haswell", "zen", "skylake": return 2
            default: return 0
            }
        }
        let best: String
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(cpuFlags.contains) {
            best = cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        } else if cpuFlags.contains("avx2") && cpuFlags.contains("fma") {
            best = "Haswell"
        } else {
            return nil
        }
        return rank(detected) < rank(best) ? best : nil
    }

    /// The CPU's feature flags as the kernel reports them (only those the OS has enabled), empty if unknown.
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
