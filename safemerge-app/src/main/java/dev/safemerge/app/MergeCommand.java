package dev.safemerge.app;

import dev.safemerge.merge.Merger;
import dev.safemerge.model.ModelConfig;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ByteSizes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "merge",
        mixinStandardHelpOptions = true,
        description = {
            "Merge models as a mergekit YAML config describes (same methods, parameters and results).",
            "The whole config is checked before any tensor is read; the output directory appears only when the merge"
                    + " is complete."
        },
        footer = {
            "",
            "Examples:",
            "  safemerge merge examples/linear-0.5.yml --out merged --threads 2",
            "  safemerge merge examples/ties.yml --out merged --seed 7 \\",
            "      --max-shard-size 2GB --dry-run",
            "  # models in examples/linear-0.25.yml: base and base+adapter-seed1",
            "  safemerge merge examples/linear-0.25.yml --out adapter-0.25 --emit-adapter"
        })
final class MergeCommand implements Callable<Integer> {
    @Parameters(
            paramLabel = "CONFIG.yml",
            description = "mergekit YAML config; model paths are relative to its folder.")
    Path config;

    @Option(
            names = "--out",
            paramLabel = "DIR",
            description = "Output model directory (must not exist or be empty unless --overwrite).")
    Path out;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "SEED",
            description = "Seed of DARE/DELLA random pruning (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--max-shard-size",
            defaultValue = "5B",
            paramLabel = "SIZE",
            description = "Shard size limit: mergekit style (5B = 5e9 bytes, 500M) or with a unit (2GB, 1GiB);"
                    + " default ${DEFAULT-VALUE}.")
    String maxShardSize;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: available processors).")
    Integer threads;

    @Option(
            names = "--dry-run",
            description = "Print the plan (tensors, the parameters each resolves, bytes) without writing.")
    boolean dryRun;

    @Option(names = "--allow-crimes", description = "Allow merging models of different architectures.")
    boolean allowCrimes;

    @Option(
            names = "--emit-adapter",
            description = "For a linear or task_arithmetic merge of BASE with BASE+ADAPTER: write the equivalent"
                    + " scaled PEFT adapter to --out instead of full weights.")
    boolean emitAdapter;

    @Mixin
    OverwriteOption overwrite;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        if (out == null && !dryRun) {
            throw new BadInputException("--out DIR is required (or pass --dry-run)");
        }
        if (!dryRun) {
            overwrite.checkDirectory(out);
        }
        long shardBytes = Merger.parseShardSize(maxShardSize);
        int workers = ThreadCount.resolve(threads);
        Merger.Options options = Merger.Options.into(out == null ? Path.of("unused") : out)
                .seed(seed)
                .maxShardBytes(shardBytes)
                .threads(workers)
                .dryRun(dryRun)
                .allowCrimes(allowCrimes)
                .emitAdapter(emitAdapter)
                .overwrite(overwrite.overwrite)
                .progress(ConsoleProgress.of(spec))
                .log(dryRun ? stdout : stderr)
                // The merge module reads only the checkpoint view; every input must also be a model this tool loads.
                .configCheck(ModelConfig::read)
                .build();
        Merger.Summary summary = Merger.run(config, options);
        if (!dryRun && emitAdapter) {
            stdout.printf("wrote the merged adapter to %s%n", out);
        } else if (!dryRun) {
            stdout.printf(
                    "merged %d tensors (%d layers) into %s: read %s, wrote %s%n",
                    summary.tensors(),
                    summary.outputLayers(),
                    out,
                    ByteSizes.format(summary.bytesRead()),
                    ByteSizes.format(summary.bytesWritten()));
        }
        return Main.EXIT_OK;
    }
}
