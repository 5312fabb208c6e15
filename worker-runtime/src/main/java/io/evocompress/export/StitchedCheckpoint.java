package io.evocompress.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.fitness.VariantSource;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a compressed model in the Hugging Face layout from the dense checkpoint and a profile: each
 * linear layer named in {@code levels} takes its database variant (quantized variants dequantized to
 * the output dtype), every other tensor is copied. For depth profiles, a block with both halves
 * dropped is removed (later blocks renumbered, {@code num_hidden_layers} lowered); a block with one
 * half dropped keeps it with that half's output projection (o_proj, or down_proj) and its bias set to
 * zero, which makes the half pass its input through the residual exactly as the search scored it, in
 * a layout standard tools load.
 */
public final class StitchedCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BLOCK = Pattern.compile("^model\\.layers\\.(\\d+)\\.(.*)$");

    private StitchedCheckpoint() {
    }

    /** What to apply: linear layer name -> level, and the dropped halves (null for none). */
    public record Profile(Map<String, Integer> levels, boolean[] dropAttention, boolean[] dropMlp) {
    }

    public static void write(CheckpointReader dense, VariantSource variants, Profile profile, FileSystem fs, Path out,
                             DType dtype, boolean overwrite, IntConsumer progress) {
        ModelConfig config = ModelLoader.config(dense);
        int n = config.numLayers();
        boolean[] dropA = profile.dropAttention() == null ? new boolean[n] : profile.dropAttention();
        boolean[] dropM = profile.dropMlp() == null ? new boolean[n] : profile.dropMlp();
        if (dropA.length != n || dropM.length != n) {
            throw new EvocompressException("The profile drops halves of " + dropA.length + " blocks, but the model has " + n);
        }
        int[] newIndex = new int[n];
        int kept = 0;
        for (int i = 0; i < n; i++) {
            newIndex[i] = dropA[i] && dropM[i] ? -1 : kept++;
        }
        for (String layer : profile.levels().keySet()) {
            if (!dense.has(layer + ".weight")) {
                throw new EvocompressException("The profile names layer " + layer + ", which " + dense.dir() + " does not have.");
            }
        }
        List<CheckpointWriter.Tensor> tensors = new ArrayList<>();
        TreeMap<String, String> names = new TreeMap<>();
        for (String name : dense.tensorFiles().keySet()) {
            names.put(name, name);
        }
        int[] written = {0};
        for (String name : names.keySet()) {
            Matcher m = BLOCK.matcher(name);
            String outName = name;
            boolean zero = false;
            if (m.matches()) {
                int block = Integer.parseInt(m.group(1));
                String rest = m.group(2);
                if (newIndex[block] < 0) {
                    continue;
                }
                outName = "model.layers." + newIndex[block] + "." + rest;
                zero = (dropA[block] && rest.startsWith(LinearName.O_PROJ.path() + "."))
                    || (dropM[block] && rest.startsWith(LinearName.DOWN_PROJ.path() + "."));
            }
            long[] shape = dense.info(name).shape();
            String layer = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
            Integer level = layer == null ? null : profile.levels().get(layer);
            boolean zeroed = zero;
            tensors.add(new CheckpointWriter.Tensor(outName, shape, () -> {
                float[] data;
                if (zeroed) {
                    long numel = 1;
                    for (long d : shape) {
                        numel *= d;
                    }
                    data = new float[Math.toIntExact(numel)];
                } else if (level != null) {
                    data = variants.variant(layer, level).dense();
                } else {
                    data = dense.readFloat(name);
                }
                if (progress != null) {
                    progress.accept(++written[0]);
                }
                return data;
            }));
        }
        String configJson = configWithLayers(dense.configJson(), kept, newIndex);
        new CheckpointWriter(dtype, 1, overwrite).write(fs, out, configJson, tensors, dense.fileSystem(), dense.dir());
    }

    private static String configWithLayers(String configJson, int kept, int[] newIndex) {
        try {
            ObjectNode node = (ObjectNode) JSON.readTree(configJson);
            node.put("num_hidden_layers", kept);
            JsonNode types = node.get("layer_types");
            if (types != null && types.isArray() && types.size() == newIndex.length) {
                ArrayNode filtered = node.putArray("layer_types");
                for (int i = 0; i < newIndex.length; i++) {
                    if (newIndex[i] >= 0) {
                        filtered.add(types.get(i));
                    }
                }
            }
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (IOException | ClassCastException e) {
            throw new EvocompressException("config.json is not a JSON object: " + e.getMessage());
        }
    }
}
