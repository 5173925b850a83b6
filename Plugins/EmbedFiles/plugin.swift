import Foundation
import PackagePlugin

/// Embeds the package's data files into the target that owns them, as Swift string literals:
/// sql/*.sql and sql/legacy/*.sql into BillingStore (the migrations), jobs/*.toml into
/// BillingJobs (the default job parameters) and demo/*.sql into supportbill (the demo data set). The files stay the single
/// source of truth; the binary carries identical copies and needs no source tree at run time.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let embeds: [(folder: String, suffix: String, typeName: String)]
        switch target.name {
        // sql/legacy holds the pre-0.1.0 sequence, kept only to upgrade databases it built
        // (docs/design.md §4): embedded apart so that it never mixes with the current sequence.
        case "BillingStore":
            embeds = [("sql", ".sql", "EmbeddedMigrationFiles"), ("sql/legacy", ".sql", "EmbeddedLegacyMigrationFiles")]
        case "BillingJobs": embeds = [("jobs", ".toml", "EmbeddedJobFiles")]
        case "supportbill": embeds = [("demo", ".sql", "EmbeddedDemoFiles")]
        default: return []
        }
        return try embeds.map { folder, suffix, typeName in
            let directory = context.package.directoryURL.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            let inputs = names.filter { $0.hasSuffix(suffix) }.sorted().map { directory.appendingPathComponent($0) }
            let output = context.pluginWorkDirectoryURL.appendingPathComponent("\(typeName).swift")
            return .buildCommand(
                displayName: "Embedding \(folder)/*\(suffix) into \(target.name)",
                executable: try context.tool(named: "EmbedFilesTool").url,
                arguments: [typeName, output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        }
    }
}
