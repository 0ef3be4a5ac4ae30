package dev.safemerge.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.AtomicDirectory;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.SafetensorsWriter;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A resumable training checkpoint: a directory with {@code trainer_state.json} (step, history, and the settings the
 * run was started with) and {@code optimizer.safetensors} (every trainable parameter and both AdamW moments, float32).
 * Written atomically, so an interrupted save leaves the previous checkpoint intact. Read back as untrusted input:
 * every tensor's name, dtype and shape is checked against the model being trained.
 */
public final class TrainingCheckpoint {
    private TrainingCheckpoint() {}

    public static final String STATE_FILE = "trainer_state.json";
    public static final String TENSORS_FILE = "optimizer.safetensors";
    private static final ObjectMapper JSON = JsonMappers.plain();

    /** Writes (replacing) the checkpoint directory {@code dir}. */
    public static void save(Path dir, Trainer.State state, AdamW optimizer, Map<String, String> settings) {
        List<Parameter> parameters = optimizer.parameters();
        List<TensorSpec> specs = new ArrayList<>();
        for (Parameter p : parameters) {
            long[] shape = Arrays.stream(p.shape()).asLongStream().toArray();
            specs.add(new TensorSpec("param/" + p.name(), DType.F32, shape));
            specs.add(new TensorSpec("exp_avg/" + p.name(), DType.F32, shape));
            specs.add(new TensorSpec("exp_avg_sq/" + p.name(), DType.F32, shape));
        }
        try (AtomicDirectory output = AtomicDirectory.begin(dir, true)) {
            try (SafetensorsWriter writer =
                    SafetensorsWriter.create(output.path().resolve(TENSORS_FILE), specs, Map.of("format", "pt"))) {
                for (int i = 0; i < parameters.size(); i++) {
                    String name = parameters.get(i).name();
                    writer.writeFloats("param/" + name, parameters.get(i).values());
                    writer.writeFloats("exp_avg/" + name, optimizer.firstMoments()[i]);
                    writer.writeFloats("exp_avg_sq/" + name, optimizer.secondMoments()[i]);
                }
                writer.finish();
            }
            Files.writeString(output.path().resolve(STATE_FILE), stateJson(state, optimizer.stepCount(), settings));
            output.commit();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + dir, e);
        }
    }

    /**
     * Restores parameters and moments from {@code dir} into {@code optimizer}'s parameters and returns the state to
     * resume from. Refuses a checkpoint made with other settings, naming the first one that differs.
     */
    public static Trainer.State load(Path dir, AdamW optimizer, Map<String, String> settings) {
        Path stateFile = dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(stateFile)) {
            throw new BadInputException(dir + ": no checkpoint to resume (" + STATE_FILE + " missing)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(stateFile.toFile());
        } catch (IOException e) {
            throw new BadInputException(stateFile + ": not valid JSON", e);
        }
        JsonNode saved = root.path("settings");
        for (Map.Entry<String, String> entry : new TreeMap<>(settings).entrySet()) {
            String was = saved.path(entry.getKey()).asText(null);
            if (!entry.getValue().equals(was)) {
                throw new BadInputException(stateFile + ": the checkpoint was made with " + entry.getKey() + " = " + was
                        + ", this run has " + entry.getValue() + " (resume with the same settings)");
            }
        }
        long step = root.path("step").asLong(-1);
        long optimizerSteps = root.path("optimizer_steps").asLong(-1);
        if (step < 0 || optimizerSteps != step) {
            throw new BadInputException(stateFile + ": invalid step " + step);
        }
        List<Parameter> parameters = optimizer.parameters();
        try (SafetensorsFile tensors = SafetensorsFile.open(dir.resolve(TENSORS_FILE))) {
            for (int i = 0; i < parameters.size(); i++) {
                Parameter p = parameters.get(i);
                read(tensors, "param/" + p.name(), p, p.values());
                read(tensors, "exp_avg/" + p.name(), p, optimizer.firstMoments()[i]);
                read(tensors, "exp_avg_sq/" + p.name(), p, optimizer.secondMoments()[i]);
            }
            if (tensors.tensors().size() != 3 * parameters.size()) {
                throw new BadInputException(dir.resolve(TENSORS_FILE) + ": holds "
                        + tensors.tensors().size() + " tensors, this model trains " + 3 * parameters.size());
            }
        }
        optimizer.restoreStepCount(optimizerSteps);
        List<Trainer.StepRecord> steps = new ArrayList<>();
        for (JsonNode s : root.path("steps")) {
            steps.add(new Trainer.StepRecord(
                    s.path("step").asLong(),
                    s.path("loss").asDouble(),
                    s.path("tokens").asLong(),
                    s.path("lr").asDouble(),
                    s.path("grad_norm").asDouble()));
        }
        List<Trainer.ValidationRecord> validation = new ArrayList<>();
        for (JsonNode v : root.path("validation")) {
            validation.add(new Trainer.ValidationRecord(
                    v.path("step").asLong(),
                    v.path("epoch").asInt(),
                    v.path("loss").asDouble()));
        }
        return new Trainer.State(step, steps, validation, root.path("seconds").asDouble());
    }

    private static void read(SafetensorsFile tensors, String name, Parameter p, float[] into) {
        if (!tensors.contains(name)) {
            throw new BadInputException(tensors.path() + ": tensor " + name + " missing");
        }
        TensorInfo info = tensors.info(name);
        long[] expected = Arrays.stream(p.shape()).asLongStream().toArray();
        if (info.dtype() != DType.F32 || !Arrays.equals(info.shape(), expected)) {
            throw new BadInputException(tensors.path() + ": tensor " + name + " is " + info.dtype() + " "
                    + info.shapeString() + ", expected F32 " + Arrays.toString(expected));
        }
        tensors.readFloats(name, 0, into, 0, into.length);
    }

    static String stateJson(Trainer.State state, long optimizerSteps, Map<String, String> settings) {
        ObjectNode root = JSON.createObjectNode();
        root.put("step", state.step());
        root.put("optimizer_steps", optimizerSteps);
        root.put("seconds", state.seconds());
        ObjectNode s = root.putObject("settings");
        new TreeMap<>(settings).forEach(s::put);
        ArrayNode steps = root.putArray("steps");
        for (Trainer.StepRecord r : state.steps()) {
            steps.addObject()
                    .put("step", r.step())
                    .put("loss", r.loss())
                    .put("tokens", r.tokens())
                    .put("lr", r.learningRate())
                    .put("grad_norm", r.gradNorm());
        }
        ArrayNode validation = root.putArray("validation");
        for (Trainer.ValidationRecord v : state.validation()) {
            validation.addObject().put("step", v.step()).put("epoch", v.epoch()).put("loss", v.loss());
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
