package dev.safemerge.eval.gen;

import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A content hash of a local model (and adapter) for the generation cache: two directories get the same fingerprint
 * only when their weights, config, tokenizer and chat template are byte-identical. A directory written by safemerge
 * carries SHA256SUMS over all its files, which is hashed instead of the files themselves; otherwise every regular file
 * is hashed (weights included: sizes and headers alone cannot tell two merges of the same shapes apart).
 */
public final class ModelFingerprint {
    private static final String CHECKSUMS = "SHA256SUMS";

    private ModelFingerprint() {}

    public static String of(Path modelDir, Path adapterDir) {
        return of(modelDir, adapterDir, null);
    }

    /** As {@link #of(Path, Path)}, with a chat template that replaces the model's own (null: none). */
    public static String of(Path modelDir, Path adapterDir, String chatTemplateOverride) {
        MessageDigest digest = sha256();
        update(digest, "model", modelDir);
        if (adapterDir != null) {
            update(digest, "adapter", adapterDir);
        }
        if (chatTemplateOverride != null) {
            digest.update(("chat template override\n" + chatTemplateOverride).getBytes(StandardCharsets.UTF_8));
        }
        return "sha256:" + HexFormat.of().formatHex(digest.digest());
    }

    private static void update(MessageDigest digest, String role, Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a directory");
        }
        digest.update((role + "\n").getBytes(StandardCharsets.UTF_8));
        Path checksums = dir.resolve(CHECKSUMS);
        List<Path> files;
        if (Files.isRegularFile(checksums)) {
            files = List.of(checksums);
        } else {
            try (Stream<Path> list = Files.list(dir)) {
                files = list.filter(Files::isRegularFile).sorted().toList();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir, e);
            }
        }
        byte[] buffer = new byte[1 << 20];
        for (Path file : files) {
            digest.update((file.getFileName() + "\n").getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(file)) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    digest.update(buffer, 0, n);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
