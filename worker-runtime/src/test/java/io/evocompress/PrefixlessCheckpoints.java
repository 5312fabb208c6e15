package io.evocompress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Copies of a fixture checkpoint as its base model class saves it (Hugging Face's {@code OPTModel},
 * {@code BloomModel}, {@code LlamaModel}): every tensor renamed without the base model's prefix
 * ({@code model.}, {@code transformer.}) in the safetensors header, the data bytes untouched, and
 * {@code lm_head.weight} dropped when the head is tied (the base model has none). Written here on
 * the header alone, independently of the reader under test.
 */
public final class PrefixlessCheckpoints {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PrefixlessCheckpoints() {
    }

    /** The base model prefix of a fixture's family: {@code transformer.} for BLOOM, else {@code model.}. */
    public static String prefixOf(Path fixture) {
        try {
            return JSON.readTree(Files.readString(fixture.resolve("config.json"))).path("model_type").asText().equals("bloom")
                ? "transformer." : "model.";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code fixture}'s files in {@code target}, its tensors renamed without {@link #prefixOf the prefix}. */
    public static Path copy(Path fixture, Path target) {
        String prefix = prefixOf(fixture);
        BadFiles.copyCheckpoint(fixture, target);
        boolean tied;
        try {
            tied = JSON.readTree(Files.readString(target.resolve("config.json"))).path("tie_word_embeddings").asBoolean(false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        BadFiles.editHeader(target.resolve("model.safetensors"), h -> {
            List<String> names = new ArrayList<>();
            h.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                if (name.equals("__metadata__")) {
                    continue;
                }
                JsonNode entry = h.remove(name);
                if (tied && name.equals("lm_head.weight")) {
                    continue;
                }
                h.set(name.startsWith(prefix) ? name.substring(prefix.length()) : name, entry);
            }
        });
        return target;
    }

    /** name -> "dtype shape" of a safetensors file's header (no metadata). */
    public static Map<String, String> header(Path file) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] json = new byte[Math.toIntExact(n)];
            f.readFully(json);
            Map<String, String> out = new TreeMap<>();
            JSON.readTree(new String(json, StandardCharsets.UTF_8)).properties().forEach(t -> {
                if (!t.getKey().equals("__metadata__")) {
                    out.put(t.getKey(), t.getValue().get("dtype").asText() + " " + t.getValue().get("shape"));
                }
            });
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
