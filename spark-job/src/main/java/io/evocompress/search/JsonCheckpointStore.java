package io.evocompress.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The search state as one small JSON file on any Hadoop file system. A save writes a temporary
 * sibling, moves the old file to {@code NAME.prev}, renames the new one into place and deletes the
 * previous one; a load falls back to {@code NAME.prev} when a crash came between the two renames.
 * Doubles are written in Java's shortest round-trip form, so a resumed run continues bit-exactly.
 */
public final class JsonCheckpointStore implements SearchCheckpointStore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileSystem fs;
    private final Path file;
    private final Path previous;

    public JsonCheckpointStore(FileSystem fs, Path file) {
        this.fs = fs;
        this.file = file;
        this.previous = new Path(file.getParent(), file.getName() + ".prev");
    }

    @Override
    public void save(SearchState state) {
        ObjectNode root = JSON.createObjectNode();
        root.put("seed", state.seed());
        root.put("generation", state.generation());
        ArrayNode parent = root.putArray("parent");
        for (int level : state.parent().levels()) {
            parent.add(level);
        }
        root.put("parentFitness", state.parentFitness());
        ArrayNode history = root.putArray("history");
        for (GenerationFitness h : state.history()) {
            ObjectNode entry = history.addObject().put("generation", h.generation()).put("fitness", h.fitness());
            if (h.parent() != null) {
                ArrayNode levels = entry.putArray("parent");
                for (int level : h.parent().levels()) {
                    levels.add(level);
                }
            }
        }
        Path tmp = new Path(file.getParent(), "." + file.getName() + ".tmp-" + UUID.randomUUID());
        try {
            fs.mkdirs(file.getParent());
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            }
            fs.delete(previous, false);
            if (fs.exists(file) && !fs.rename(file, previous)) {
                throw new EvocompressException("Could not move the search checkpoint " + file + " aside to " + previous);
            }
            if (!fs.rename(tmp, file)) {
                throw new EvocompressException("Could not rename " + tmp + " to the search checkpoint " + file);
            }
            fs.delete(previous, false);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the search checkpoint " + file, e);
        }
    }

    @Override
    public Optional<SearchState> load() {
        try {
            Path from = fs.exists(file) ? file : fs.exists(previous) ? previous : null;
            if (from == null) {
                return Optional.empty();
            }
            JsonNode root;
            try (FSDataInputStream in = fs.open(from)) {
                root = JSON.readTree(in);
            }
            return Optional.of(parse(root));
        } catch (IOException | RuntimeException e) {
            if (e instanceof EvocompressException ee) {
                throw ee;
            }
            throw new EvocompressException("Cannot read the search checkpoint " + file + ": " + e.getMessage()
                + " (delete it to start the search from scratch)", e);
        }
    }

    private SearchState parse(JsonNode root) {
        for (String field : List.of("seed", "generation", "parent", "parentFitness", "history")) {
            if (!root.has(field)) {
                throw new EvocompressException("search checkpoint " + file + " has no '" + field + "': delete it to start from scratch");
            }
        }
        int[] parent = levels(root.get("parent"));
        List<GenerationFitness> history = new ArrayList<>();
        for (JsonNode h : root.get("history")) {
            history.add(new GenerationFitness(h.get("generation").asInt(), h.get("fitness").asDouble(),
                h.has("parent") ? new Genome(levels(h.get("parent"))) : null));
        }
        return new SearchState(root.get("seed").asLong(), root.get("generation").asInt(), new Genome(parent),
            root.get("parentFitness").asDouble(), history);
    }

    private static int[] levels(JsonNode array) {
        int[] levels = new int[array.size()];
        for (int i = 0; i < levels.length; i++) {
            levels[i] = array.get(i).asInt();
        }
        return levels;
    }
}
