package dev.safemerge.app;

import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.TensorInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "List the tensors of a safetensors file or model directory.",
        footer = {"", "Example:", "  safemerge inspect models/Llama-3.2-1B-Instruct"})
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "A model directory or a .safetensors file.")
    Path path;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long parameters = 0;
        long bytes = 0;
        for (Path file : safetensorsFiles(path)) {
            try (SafetensorsFile safetensors = SafetensorsFile.open(file)) {
                for (TensorInfo info : safetensors.tensors().values()) {
                    out.printf(
                            "%-60s %-6s %-20s %,d%n", info.name(), info.dtype(), info.shapeString(), info.byteSize());
                    parameters += info.elementCount();
                    bytes += info.byteSize();
                }
            }
        }
        out.printf("parameters: %,d  bytes: %,d%n", parameters, bytes);
        return Main.EXIT_OK;
    }

    private static List<Path> safetensorsFiles(Path path) {
        if (Files.isRegularFile(path)) {
            return List.of(path);
        }
        if (!Files.isDirectory(path)) {
            throw new BadInputException(path + ": no such file or directory");
        }
        try (Stream<Path> files = Files.list(path)) {
            List<Path> found = files.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .sorted()
                    .toList();
            if (found.isEmpty()) {
                throw new BadInputException(path + ": no .safetensors files in this directory");
            }
            return found;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
