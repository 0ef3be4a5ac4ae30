package dev.safemerge.eval.encoder;

import dev.safemerge.model.text.HfTokenizer;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * BERTScore (Zhang et al. 2020) as bert_score computes it without idf weighting or baseline rescaling. Each sentence
 * is stripped, tokenised with its special tokens ([CLS] … [SEP] or &lt;s&gt; … &lt;/s&gt;), truncated to the model's
 * length and encoded on its own; token vectors of the chosen layer are L2-normalised and matched greedily by cosine
 * similarity. Precision averages, over candidate tokens, the best similarity to any reference token; recall the
 * reverse; F1 is their harmonic mean. The special tokens weigh 0 but remain match targets. An empty candidate or
 * reference scores 0.
 */
public final class BertScore implements AutoCloseable {
    private final Path modelDir;
    private final EncoderModel encoder;
    private final HfTokenizer tokenizer;
    private final int clsId;
    private final int sepId;

    /** Per-pair scores. */
    public record Score(double precision, double recall, double f1) {}

    private BertScore(Path modelDir, EncoderModel encoder, HfTokenizer tokenizer, int clsId, int sepId) {
        this.modelDir = modelDir;
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.clsId = clsId;
        this.sepId = sepId;
    }

    /** Loads the encoder at {@code dir} up to {@code layer} (null: its last layer) and its tokenizer.json. */
    public static BertScore load(Path dir, Integer layer) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": no such directory (expected an encoder checkpoint)");
        }
        EncoderModel encoder = EncoderModel.load(dir, layer != null ? layer : EncoderModel.declaredLayers(dir));
        HfTokenizer tokenizer = HfTokenizer.load(dir);
        try {
            // The empty sentence encodes to just the pair of special tokens the post-processor wraps around text.
            int[] wrapper = tokenizer.encode("", true);
            if (wrapper.length != 2) {
                throw new BadInputException(dir.resolve("tokenizer.json") + ": the post-processor adds "
                        + wrapper.length + " special tokens to a sentence; BERTScore expects [CLS] and [SEP]");
            }
            return new BertScore(dir, encoder, tokenizer, wrapper[0], wrapper[1]);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    public Path modelDir() {
        return modelDir;
    }

    public int layer() {
        return encoder.layer();
    }

    /** Token ids of a sentence as bert_score's sent_encode gives them: stripped, wrapped, truncated before [SEP]. */
    int[] tokenize(String sentence) {
        String text = sentence.strip();
        // bert_score encodes RoBERTa (a GPT-2 byte-level tokenizer) with add_prefix_space=True.
        if (encoder.modelType().equals("roberta") && !text.isEmpty()) {
            text = " " + text;
        }
        int[] ids;
        synchronized (tokenizer) {
            ids = tokenizer.encode(text, true);
        }
        int max = encoder.maxTokens();
        if (ids.length > max) {
            ids = Arrays.copyOf(ids, max);
            ids[max - 1] = sepId;
        }
        return ids;
    }

    public Score score(String candidate, String reference) {
        int[] candidateIds = tokenize(candidate);
        int[] referenceIds = tokenize(reference);
        float[][] c = normalisedStates(candidateIds);
        float[][] r = normalisedStates(referenceIds);
        double[] bestForCandidate = new double[c.length];
        double[] bestForReference = new double[r.length];
        Arrays.fill(bestForCandidate, Double.NEGATIVE_INFINITY);
        Arrays.fill(bestForReference, Double.NEGATIVE_INFINITY);
        for (int i = 0; i < c.length; i++) {
            for (int j = 0; j < r.length; j++) {
                double similarity = 0;
                for (int d = 0; d < c[i].length; d++) {
                    similarity += (double) c[i][d] * r[j][d];
                }
                bestForCandidate[i] = Math.max(bestForCandidate[i], similarity);
                bestForReference[j] = Math.max(bestForReference[j], similarity);
            }
        }
        double precision = weightedMean(bestForCandidate, candidateIds);
        double recall = weightedMean(bestForReference, referenceIds);
        if (Double.isNaN(precision) || Double.isNaN(recall)) {
            return new Score(0, 0, 0);
        }
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new Score(precision, recall, f1);
    }

    /** The mean over tokens other than [CLS]/[SEP]; NaN when there are none (an empty sentence). */
    private double weightedMean(double[] best, int[] ids) {
        double sum = 0;
        int count = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != clsId && ids[i] != sepId) {
                sum += best[i];
                count++;
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    private float[][] normalisedStates(int[] ids) {
        float[] states = encoder.encode(ids);
        int hidden = encoder.hiddenSize();
        float[][] rows = new float[ids.length][hidden];
        for (int t = 0; t < ids.length; t++) {
            double norm = 0;
            for (int d = 0; d < hidden; d++) {
                double v = states[t * hidden + d];
                norm += v * v;
            }
            double inverse = 1.0 / Math.sqrt(norm);
            for (int d = 0; d < hidden; d++) {
                rows[t][d] = (float) (states[t * hidden + d] * inverse);
            }
        }
        return rows;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
