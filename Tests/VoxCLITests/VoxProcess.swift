import Foundation

/// What a run of the `vox` executable returned.
struct VoxRunResult { var status: Int32; var stdout: String; var stderr: String }

/// Runs the built `vox` executable (built into the same folder as the test bundle) as a user would.
func runVox(_ args: [String], environment: [String: String] = [:]) throws -> VoxRunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vox")
    p.arguments = args
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return VoxRunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                        stderr: String(decoding: e, as: UTF8.self))
}
