package dev.safemerge.app.serve;

import dev.safemerge.model.Adapter;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The LoRA adapters loaded over the one base model, by name, as vLLM's dynamic LoRA API manages them: at most
 * {@code maxLoras} at a time, loaded and unloaded while the server runs. An adapter in use by a running or queued
 * request stays in memory until that request is done, even once unloaded; new requests no longer see it.
 */
final class LoraAdapters implements AutoCloseable {
    /** One loaded adapter and the requests using it. */
    static final class Loaded {
        final String name;
        final Path path;
        final Adapter adapter;
        final ScaledAdapter scaled;
        private int users;
        private boolean unloaded;

        Loaded(String name, Path path, Adapter adapter) {
            this.name = name;
            this.path = path;
            this.adapter = adapter;
            this.scaled = new ScaledAdapter(adapter, 1f);
        }
    }

    private final String baseModel;
    private final Function<Path, Adapter> loader;
    private final int maxLoras;
    private final Map<String, Loaded> loaded = new LinkedHashMap<>();
    private final Object loading = new Object();

    /**
     * @param baseModel the served name of the model the adapters run over
     * @param loader reads an adapter against the base model's shapes ({@code Model::loadAdapter})
     * @param maxLoras most adapters loaded at once
     */
    LoraAdapters(String baseModel, Function<Path, Adapter> loader, int maxLoras) {
        this.baseModel = baseModel;
        this.loader = loader;
        this.maxLoras = maxLoras;
    }

    String baseModel() {
        return baseModel;
    }

    /**
     * Loads the adapter at {@code path} as {@code name}.
     *
     * @param taken whether the name is already a served model's
     * @throws ApiException 400 for a taken name, a full table or an adapter that does not fit the base; 404 for a
     *     path without an adapter
     */
    void load(String name, String path, java.util.function.Predicate<String> taken) {
        synchronized (loading) {
            synchronized (this) {
                if (loaded.containsKey(name) || taken.test(name)) {
                    throw vllmError(
                            400, "InvalidUserInput", "The lora adapter '" + name + "' has already been loaded.");
                }
                if (loaded.size() >= maxLoras) {
                    throw new ApiException(
                            400,
                            "InvalidUserInput",
                            "cannot load the lora adapter '" + name + "': " + loaded.size()
                                    + " adapters are loaded, the limit of --max-loras; unload one first",
                            "lora_name",
                            "max_loras_reached");
                }
            }
            Path dir = Path.of(path);
            if (!Files.isDirectory(dir)) {
                throw vllmError(404, "NotFoundError", "No adapter found for " + path);
            }
            Adapter adapter;
            try {
                adapter = loader.apply(dir);
            } catch (BadInputException e) {
                throw vllmError(400, "BadRequestError", e.getMessage());
            }
            synchronized (this) {
                loaded.put(name, new Loaded(name, dir, adapter));
            }
        }
    }

    /** @throws ApiException 404 when no adapter of that name is loaded */
    void unload(String name) {
        Loaded entry;
        synchronized (this) {
            entry = loaded.remove(name);
            if (entry == null) {
                throw vllmError(404, "NotFoundError", "The lora adapter '" + name + "' cannot be found.");
            }
            entry.unloaded = true;
            if (entry.users > 0) {
                return;
            }
        }
        entry.adapter.close();
    }

    /** The adapter of that name with one more user (release it when the request is done), or null. */
    synchronized Loaded acquire(String name) {
        Loaded entry = loaded.get(name);
        if (entry != null) {
            entry.users++;
        }
        return entry;
    }

    void release(Loaded entry) {
        synchronized (this) {
            entry.users--;
            if (entry.users > 0 || !entry.unloaded) {
                return;
            }
        }
        entry.adapter.close();
    }

    synchronized List<Loaded> list() {
        return new ArrayList<>(loaded.values());
    }

    synchronized boolean contains(String name) {
        return loaded.containsKey(name);
    }

    private static ApiException vllmError(int status, String type, String message) {
        return new ApiException(status, type, message, null, null);
    }

    @Override
    public void close() {
        List<Loaded> all;
        synchronized (this) {
            all = new ArrayList<>(loaded.values());
            loaded.clear();
        }
        all.forEach(entry -> entry.adapter.close());
    }
}
