package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.StringJoiner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code safemerge forward} in-process against the engine's reference checkpoints and expected logits. */
class ForwardCommandTest {
    static final Path REFERENCE = Path.of("../safemerge-model/src/test/resources/reference");

    private static String ids(float[] values) {
        StringJoiner joiner = new StringJoiner(",");
        for (float v : values) {
            joiner.add(Integer.toString((int) v));
        }
        return joiner.toString();
    }

    private static void assertMatches(Path out, String expectedName, String tensor) {
        try (SafetensorsFile actual = SafetensorsFile.open(out);
                SafetensorsFile expected =
                        SafetensorsFile.open(REFERENCE.resolve("expected").resolve(expectedName + ".safetensors"))) {
            assertThat(actual.tensors().keySet()).containsExactly("logits");
            float[] want = expected.readFloats(tensor);
            float[] got = actual.readFloats("logits");
            assertThat(actual.info("logits").shape())
                    .containsExactly(
                            expected.info("ids").elementCount(),
                            want.length / expected.info("ids").elementCount());
            for (int i = 0; i < want.length; i++) {
                // same bound as the engine's reference test: float32 summation order only
                assertThat((double) Math.abs(got[i] - want[i]))
                        .isLessThanOrEqualTo(1e-4 * Math.max(1, Math.abs(want[i])));
            }
        }
    }

    private static float[] expectedIds(String name) {
        try (SafetensorsFile expected =
                SafetensorsFile.open(REFERENCE.resolve("expected").resolve(name + ".safetensors"))) {
            return expected.readFloats("ids");
        }
    }

    @Test
    void writesTheLogitsOfEveryPosition(@TempDir Path dir) {
        Path out = dir.resolve("logits.safetensors");
        MainTest.Result result = MainTest.run(
                "forward",
                "--model",
                REFERENCE.resolve("models/gemma2_bf16_softcap_window").toString(),
                "--ids",
                ids(expectedIds("gemma2_bf16_softcap_window")),
                "--out",
                out.toString());
        assertThat(result.code()).as(result.err()).isZero();
        assertMatches(out, "gemma2_bf16_softcap_window", "logits");
        assertThat(dir.toFile().list()).containsExactly("logits.safetensors");
    }

    @Test
    void appliesAnAdapterMergedOrNot(@TempDir Path dir) {
        for (boolean merge : new boolean[] {false, true}) {
            Path out = dir.resolve("lora-" + merge + ".safetensors");
            MainTest.Result result = MainTest.run(
                    "forward",
                    "--model",
                    REFERENCE.resolve("models/llama_f32_gqa").toString(),
                    "--adapter",
                    REFERENCE.resolve("adapters/lora_llama").toString(),
                    merge ? "--merge-adapter" : "--quantize=none",
                    "--ids",
                    ids(expectedIds("lora_llama")),
                    "--out",
                    out.toString());
            assertThat(result.code()).as(result.err()).isZero();
            assertMatches(out, "lora_llama", merge ? "logits_merged" : "logits");
        }
    }

    @Test
    void outOfVocabularyIdIsBadInputAndWritesNothing(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("logits.safetensors");
        MainTest.Result result = MainTest.run(
                "forward",
                "--model",
                REFERENCE.resolve("models/llama_f32_gqa").toString(),
                "--ids",
                "1,256",
                "--out",
                out.toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("256").contains("vocab");
        assertThat(result.err().lines().count()).isEqualTo(1);
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    /** An existing file is kept unless --overwrite, which renames the complete new file over it. */
    @Test
    void anExistingOutputFileIsRefusedUnlessOverwriteReplacesIt(@TempDir Path dir) throws Exception {
        Path out = Files.writeString(dir.resolve("logits.safetensors"), "old");
        String[] args = {
            "forward",
            "--model",
            REFERENCE.resolve("models/llama_f32_gqa").toString(),
            "--ids",
            ids(expectedIds("llama_f32_gqa")),
            "--out",
            out.toString()
        };
        MainTest.Result refused = MainTest.run(args);
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err().strip().lines()).hasSize(1);
        assertThat(refused.err()).contains("--out " + out + ": exists (pass --overwrite to replace it");
        assertThat(out).hasContent("old");
        String[] overwriting = java.util.Arrays.copyOf(args, args.length + 1);
        overwriting[args.length] = "--overwrite";
        MainTest.Result replaced = MainTest.run(overwriting);
        assertThat(replaced.code()).as(replaced.err()).isZero();
        assertMatches(out, "llama_f32_gqa", "logits");
        assertThat(dir.toFile().list()).containsExactly("logits.safetensors");
    }

    @Test
    void unknownQuantizationIsBadInput(@TempDir Path dir) {
        MainTest.Result result = MainTest.run(
                "forward",
                "--model",
                REFERENCE.resolve("models/llama_f32_gqa").toString(),
                "--quantize",
                "q4",
                "--ids",
                "1,2",
                "--out",
                dir.resolve("x.safetensors").toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err()).contains("--quantize");
    }
}
