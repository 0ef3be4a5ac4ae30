package dev.safemerge.model.train;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.JsonMappers;
import java.util.TreeSet;

/**
 * What a training run writes next to its weights ({@code training_summary.json} of {@code finetune}, the demo's
 * {@code training.json}): every setting that decides the result, so that the run can be repeated, and the figures it
 * produced (examples, steps, tokens, time, the loss curve and validation losses).
 *
 * @param model the base model (directory or description)
 * @param data the training data file
 * @param dataSha256 the data file's SHA-256
 * @param lora the adapter's settings; {@code null} for full fine-tuning
 * @param overlong what was done with sequences over {@code maxLength}
 */
public record TrainingSummary(
        String model,
        String data,
        String dataSha256,
        LoraSettings lora,
        TrainingOptions options,
        int maxLength,
        SftData.Overlong overlong,
        double validationSplit) {

    public ObjectNode toJson(long trainableParameters, Trainer trainer, SftData.Loaded loaded, Trainer.Result result) {
        ObjectNode root = JsonMappers.plain().createObjectNode();
        root.put("model", model);
        root.put("data", data);
        root.put("mode", lora == null ? "full" : "lora");
        ObjectNode settings = root.putObject("settings");
        settings.put("data_sha256", dataSha256);
        settings.put("seed", options.seed());
        if (lora != null) {
            settings.put("lora_r", lora.rank());
            settings.put("lora_alpha", lora.alpha());
            settings.put("lora_dropout", lora.dropout());
            settings.put("rslora", lora.rsLora());
            ArrayNode targets = settings.putArray("target_modules");
            new TreeSet<>(lora.targetModules()).forEach(targets::add);
        }
        settings.put("epochs", options.epochs());
        settings.put("max_steps", options.maxSteps());
        settings.put("batch_size", options.batchSize());
        settings.put("grad_accum", options.gradAccum());
        settings.put("learning_rate", options.learningRate());
        settings.put("schedule", options.schedule().name().toLowerCase(java.util.Locale.ROOT));
        settings.put("warmup_steps", options.warmupSteps());
        settings.put("max_grad_norm", options.maxGradNorm());
        settings.put("adam_beta1", options.adam().beta1());
        settings.put("adam_beta2", options.adam().beta2());
        settings.put("adam_epsilon", options.adam().epsilon());
        settings.put("weight_decay", options.adam().weightDecay());
        settings.put("max_len", maxLength);
        settings.put("overlong", overlong.name().toLowerCase(java.util.Locale.ROOT));
        settings.put("val_split", validationSplit);
        root.put("trainable_parameters", trainableParameters);
        ObjectNode examples = root.putObject("examples");
        examples.put("train", loaded.train().size());
        examples.put("validation", loaded.validation().size());
        examples.put("truncated", loaded.truncated());
        examples.put("dropped", loaded.dropped());
        examples.put("without_targets", loaded.withoutTargets());
        Trainer.State state = result.state();
        root.put("steps", state.step());
        root.put("steps_per_epoch", trainer.stepsPerEpoch());
        long tokens =
                state.steps().stream().mapToLong(Trainer.StepRecord::tokens).sum();
        root.put("tokens", tokens);
        root.put("seconds", state.seconds());
        root.put("tokens_per_second", tokens / Math.max(1e-9, state.seconds()));
        if (state.steps().isEmpty()) {
            root.putNull("final_loss");
        } else {
            root.put("final_loss", state.steps().getLast().loss());
        }
        if (!state.validation().isEmpty()) {
            root.put("final_validation_loss", state.validation().getLast().loss());
        }
        ArrayNode curve = root.putArray("loss_curve");
        for (Trainer.StepRecord r : state.steps()) {
            curve.addObject()
                    .put("step", r.step())
                    .put("loss", r.loss())
                    .put("lr", r.learningRate())
                    .put("grad_norm", r.gradNorm())
                    .put("tokens", r.tokens());
        }
        ArrayNode validation = root.putArray("validation");
        for (Trainer.ValidationRecord v : state.validation()) {
            validation.addObject().put("step", v.step()).put("epoch", v.epoch()).put("loss", v.loss());
        }
        return root;
    }
}
