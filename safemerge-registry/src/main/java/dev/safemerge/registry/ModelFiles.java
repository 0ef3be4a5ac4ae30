package dev.safemerge.registry;

import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The tensor files of a model directory and their SHA-256, which identify a model version: the content hash is the
 * SHA-256 of the sorted {@code "<sha256>  <file>"} lines of every {@code *.safetensors} file. A directory written by
 * safemerge carries {@code SHA256SUMS}, whose entries are taken as they are (hashing tens of gigabytes again at every
 * registration is what the checksum file saves); {@link #hashFiles} always reads the bytes, for verification.
 */
record ModelFiles(String contentHash, Map<String, String> sha256ByFile) {
    static final String CHECKSUMS = "SHA256SUMS";

    /** The tensor files of {@code dir}, taking their hashes from SHA256SUMS when present. */
    static ModelFiles of(Path dir) {
        List<String> tensors = tensorFiles(dir);
        Path checksums = dir.resolve(CHECKSUMS);
        Map<String, String> hashes = new TreeMap<>();
        if (Files.isRegularFile(checksums)) {
            Map<String, String> listed = readChecksums(checksums);
            for (String file : tensors) {
                String hash = listed.get(file);
                if (hash == null) {
                    throw new BadInputException(checksums + ": no entry for " + file);
                }
                hashes.put(file, hash);
            }
        } else {
            for (String file : tensors) {
                hashes.put(file, Hashing.sha256Hex(dir.resolve(file)));
            }
        }
        return new ModelFiles(contentHashOf(hashes), hashes);
    }

    /** The tensor files of {@code dir} hashed from their bytes. */
    static ModelFiles hashFiles(Path dir) {
        Map<String, String> hashes = new TreeMap<>();
        for (String file : tensorFiles(dir)) {
            hashes.put(file, Hashing.sha256Hex(dir.resolve(file)));
        }
        return new ModelFiles(contentHashOf(hashes), hashes);
    }

    static String contentHashOf(Map<String, String> sha256ByFile) {
        StringBuilder lines = new StringBuilder();
        new TreeMap<>(sha256ByFile)
                .forEach((file, hash) ->
                        lines.append(hash).append("  ").append(file).append('\n'));
        return "sha256:" + Hashing.sha256Hex(lines.toString());
    }

    private static List<String> tensorFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a model directory");
        }
        List<String> files = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            list.filter(Files::isRegularFile)
                    .map(p -> p.getFileName().toString())
                    .filter(name -> name.endsWith(".safetensors"))
                    .sorted()
                    .forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (files.isEmpty()) {
            throw new BadInputException(dir + ": no *.safetensors files to register");
        }
        return files;
    }

    private static Map<String, String> readChecksums(Path file) {
        Map<String, String> hashes = new TreeMap<>();
        List<String> lines;
        try (InputStream in = Files.newInputStream(file)) {
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .lines()
                    .toList();
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            int separator = line.indexOf("  ");
            if (separator != 64 || !line.substring(0, 64).matches("[0-9a-f]{64}")) {
                throw new BadInputException(file + ": line " + (i + 1) + ": expected '<sha256>  <file>'");
            }
            hashes.put(line.substring(66), line.substring(0, 64));
        }
        return hashes;
    }
}
