package io.evocompress.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.checkpoint.PackQuantized;
import io.evocompress.checkpoint.PackedInt4;
import io.evocompress.database.LayerVariant;
import io.evocompress.fitness.VariantSource;
import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.TensorLayout;
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

    private StitchedCheckpoint() {
    }

    /** What to apply: linear layer name -> level, and the dropped halves (null for none). */
    public record Profile(Map<String, Integer> levels, boolean[] dropAttention, boolean[] dropMlp) {
    }

    public static void write(CheckpointReader dense, VariantSource variants, Profile profile, FileSystem fs, Path out,
                             DType dtype, boolean overwrite, IntConsumer progress) {
        write(dense, variants, profile, fs, out, dtype, overwrite, false, progress);
    }

    /**
     * As above; with {@code packInt4}, every profiled layer whose variant is 4-bit quantized is written
     * packed ({@link PackedInt4}: codes, fp16 scales and zero points instead of {@code .weight}, masked
     * weights as their group's zero point) and config.json gets the {@code quantization_config} the
     * loader dequantizes from; other layers are written as usual.
     */
    public static void write(CheckpointReader dense, VariantSource variants, Profile profile, FileSystem fs, Path out,
                             DType dtype, boolean overwrite, boolean packInt4, IntConsumer progress) {
        write(dense, variants, profile, fs, out, dtype, overwrite, packInt4 ? Format.EVOCOMPRESS_INT4 : Format.DENSE, progress);
    }

    /** How quantized variants are written. */
    public enum Format {
        /** dequantized to the output dtype */
        DENSE,
        /** compressed-tensors pack-quantized ({@link PackQuantized}), every width 2..8 */
        COMPRESSED_TENSORS,
        /** the project's older 4-bit layout ({@link PackedInt4}), 4-bit variants only */
        EVOCOMPRESS_INT4
    }

    /**
     * What was written.
     *
     * @param packed      packed layer (output name) -> its scheme, for {@link Format#COMPRESSED_TENSORS}
     * @param perChannel  the packed layers whose group did not suit vLLM and were requantized per channel
     */
    public record Summary(Format format, Map<String, PackQuantized.Scheme> packed, List<String> perChannel) {
    }

    /**
     * As above in {@code format}. With {@link Format#COMPRESSED_TENSORS} every profiled layer whose
     * variant is quantized is written as {@link PackQuantizedLayer} (masked weights as their group's
     * zero point) and config.json gets the compressed-tensors {@code quantization_config}, whose
     * {@code ignore} names lm_head and every block linear layer left dense.
     */
    public static Summary write(CheckpointReader dense, VariantSource variants, Profile profile, FileSystem fs, Path out,
                                DType dtype, boolean overwrite, Format format, IntConsumer progress) {
        boolean packInt4 = format == Format.EVOCOMPRESS_INT4;
        boolean compressedTensors = format == Format.COMPRESSED_TENSORS;
        Map<String, PackQuantized.Scheme> packedSchemes = new TreeMap<>();
        List<String> perChannel = new ArrayList<>();
        List<String> ignore = new ArrayList<>(List.of("lm_head"));
        TreeMap<String, Integer> packedGroups = new TreeMap<>();
        if (packInt4) {
            for (Map.Entry<String, Integer> e : profile.levels().entrySet()) {
                if (variants.variant(e.getKey(), e.getValue()) instanceof LayerVariant.Quantized q && q.bits() == 4) {
                    packedGroups.put(e.getKey(), q.groupSize());
                }
            }
        }
        int groupSize = packedGroups.values().stream().max(Integer::compare).orElse(0);
        ModelConfig config = ModelLoader.config(dense);
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), dense.dir() + "/config.json");
        // the family's names: block stem (model.layers, model.decoder.layers, transformer.h), fused tensors
        String stem = arch.blockStem();
        Pattern blockName = Pattern.compile("^" + Pattern.quote(stem) + "\\.(\\d+)\\.(.*)$");
        TensorLayout layout = TensorLayout.of(config, dense);
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
            if (!dense.has(layer + ".weight") && layout.fusedTensorOf(layer + ".weight") == null) {
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
            Matcher m = blockName.matcher(name);
            String outName = name;
            boolean zero = false;
            if (m.matches()) {
                int block = Integer.parseInt(m.group(1));
                String rest = m.group(2);
                if (newIndex[block] < 0) {
                    continue;
                }
                outName = stem + "." + newIndex[block] + "." + rest;
                zero = (dropA[block] && rest.startsWith(arch.linearPath(LinearName.O_PROJ) + "."))
                    || (dropM[block] && rest.startsWith(arch.linearPath(LinearName.DOWN_PROJ) + "."));
            }
            if (layout.isFused(name)) {
                if (name.endsWith(".weight") && packedFused(variants, profile, layout, name, packedGroups)) {
                    String fusedLayer = name.substring(0, name.length() - ".weight".length());
                    tensors.addAll(packedFusedTensors(variants, profile, layout, name,
                        outName.substring(0, outName.length() - ".weight".length())));
                    packedGroups.put(fusedLayer, groupSize);   // the fused module is declared packed, its parts not
                    if (progress != null) {
                        progress.accept(++written[0]);
                    }
                } else {
                    tensors.add(fused(dense, variants, profile, layout, name, outName, packedGroups, progress, written));
                }
                continue;
            }
            long[] shape = dense.info(name).shape();
            String layer = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
            Integer level = layer == null ? null : profile.levels().get(layer);
            boolean zeroed = zero;
            if (compressedTensors && layer != null && !zeroed && level != null
                && variants.variant(layer, level) instanceof LayerVariant.Quantized q && q.bits() >= 2) {
                String outLayer = outName.substring(0, outName.length() - ".weight".length());
                PackQuantized.Scheme scheme = PackQuantizedLayer.schemeOf(q, false);
                packedSchemes.put(outLayer, scheme);
                if (!PackQuantizedLayer.vllmGroupable(q.cols(), q.groupSize())) {
                    perChannel.add(outLayer);
                }
                int lv = level;
                tensors.addAll(PackQuantized.tensors(outLayer, q.rows(), q.cols(), scheme, () -> {
                    PackQuantizedLayer packed = PackQuantizedLayer.of((LayerVariant.Quantized) variants.variant(layer, lv), false);
                    if (progress != null) {
                        progress.accept(++written[0]);
                    }
                    return packed.arrays();
                }));
                continue;
            }
            if (compressedTensors && layer != null && m.matches() && isBlockLinear(m.group(2))) {
                ignore.add(outName.substring(0, outName.length() - ".weight".length()));
            }
            if (level != null && packedGroups.containsKey(layer) && !zeroed) {
                LayerVariant.Quantized q = (LayerVariant.Quantized) variants.variant(layer, level);
                if (q.groupSize() != Math.min(groupSize, q.cols())) {
                    throw new EvocompressException("Layer " + layer + " is quantized in groups of " + q.groupSize()
                        + " columns, others in groups of " + groupSize + ": one packed checkpoint needs one group size.");
                }
                int[] codes = q.q().clone();
                if (q.mask() != null) {
                    int groups = LayerVariant.Quantized.groups(q.cols(), q.groupSize());
                    for (int i = 0; i < codes.length; i++) {
                        if (!q.mask()[i]) {
                            codes[i] = q.zeros()[(i / q.cols()) * groups + (i % q.cols()) / q.groupSize()];
                        }
                    }
                }
                String outLayer = outName.substring(0, outName.length() - ".weight".length());
                tensors.addAll(PackedInt4.tensors(outLayer, q.rows(), q.cols(), q.groupSize(), codes, q.scales(), q.zeros()));
                if (progress != null) {
                    progress.accept(++written[0]);
                }
                continue;
            }
            if (!zeroed && level == null && io.evocompress.model.RowSlices.sliced(shape)) {
                // copied in row slices: a tensor larger than one slice (BLOOM-176B's embedding) fits no Java array
                tensors.add(CheckpointWriter.Tensor.sliced(outName, shape, sink -> {
                    io.evocompress.model.RowSlices.read(dense, name, null, (row0, rows, values) -> sink.accept(values));
                    if (progress != null) {
                        progress.accept(++written[0]);
                    }
                }));
                continue;
            }
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
        String configJson = configWithLayers(dense.configJson(), kept, newIndex, arch.layerCountKey());
        if (!packedGroups.isEmpty()) {
            List<String> modules = new ArrayList<>();
            for (String layer : packedGroups.keySet()) {
                Matcher m = blockName.matcher(layer);
                modules.add(m.matches() ? stem + "." + newIndex[Integer.parseInt(m.group(1))] + "." + m.group(2) : layer);
            }
            try {
                ObjectNode node = (ObjectNode) JSON.readTree(configJson);
                node.set("quantization_config", PackedInt4.quantizationConfig(groupSize, modules));
                configJson = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
            } catch (IOException e) {
                throw new EvocompressException("config.json is not a JSON object: " + e.getMessage());
            }
        }
        if (!packedSchemes.isEmpty()) {
            try {
                ObjectNode node = (ObjectNode) JSON.readTree(configJson);
                node.set("quantization_config", PackQuantized.quantizationConfig(packedSchemes, ignore));
                configJson = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
            } catch (IOException e) {
                throw new EvocompressException("config.json is not a JSON object: " + e.getMessage());
            }
        }
        new CheckpointWriter(dtype, 1, overwrite).named(dense.naming())
            .write(fs, out, configJson, tensors, dense.fileSystem(), dense.dir());
        Format result = !packedSchemes.isEmpty() ? Format.COMPRESSED_TENSORS
            : !packedGroups.isEmpty() ? Format.EVOCOMPRESS_INT4 : Format.DENSE;
        return new Summary(result, packedSchemes, perChannel);
    }

    /** Whether {@code rest} (a tensor name inside a block) is the weight of one of the block's linear layers. */
    private static boolean isBlockLinear(String rest) {
        for (LinearName n : LinearName.values()) {
            if (rest.equals(n.path() + ".weight")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a fused weight is written packed: every part's variant is 4-bit quantized with one group
     * size. Parts that are not all packed are written dense (fused) and dropped from {@code packedGroups}.
     */
    private static boolean packedFused(VariantSource variants, Profile profile, TensorLayout layout, String name,
                                       Map<String, Integer> packedGroups) {
        List<String> layers = new ArrayList<>();
        for (String part : layout.parts(name)) {
            layers.add(part.substring(0, part.length() - ".weight".length()));
        }
        boolean all = layers.stream().allMatch(packedGroups::containsKey)
            && layers.stream().map(packedGroups::get).distinct().count() == 1;
        layers.forEach(packedGroups::remove);
        return all;
    }

    /** The packed tensors of a fused weight: each part's codes, scales and zero points stacked as the fused rows. */
    private static List<CheckpointWriter.Tensor> packedFusedTensors(VariantSource variants, Profile profile,
                                                                    TensorLayout layout, String name, String outLayer) {
        List<String> parts = layout.parts(name);
        float[][] codes = new float[parts.size()][];
        float[][] scales = new float[parts.size()][];
        float[][] zeros = new float[parts.size()][];
        int cols = 0;
        int groupSize = 0;
        int rows = 0;
        for (int p = 0; p < parts.size(); p++) {
            String layer = parts.get(p).substring(0, parts.get(p).length() - ".weight".length());
            LayerVariant.Quantized q = (LayerVariant.Quantized) variants.variant(layer, profile.levels().get(layer));
            int groups = LayerVariant.Quantized.groups(q.cols(), q.groupSize());
            codes[p] = new float[q.q().length];
            for (int i = 0; i < codes[p].length; i++) {
                // a masked weight is its group's zero point (it dequantizes to exactly 0)
                codes[p][i] = q.mask() != null && !q.mask()[i]
                    ? q.zeros()[(i / q.cols()) * groups + (i % q.cols()) / q.groupSize()] : q.q()[i];
            }
            scales[p] = q.scales().clone();
            zeros[p] = new float[q.zeros().length];
            for (int i = 0; i < zeros[p].length; i++) {
                zeros[p][i] = q.zeros()[i];
            }
            cols = q.cols();
            groupSize = q.groupSize();
            rows += q.rows();
        }
        int groups = LayerVariant.Quantized.groups(cols, groupSize);
        float[] c = layout.fuseRows(name, codes, cols);
        float[] z = layout.fuseRows(name, zeros, groups);
        int[] ci = new int[c.length];
        for (int i = 0; i < c.length; i++) {
            ci[i] = (int) c[i];
        }
        int[] zi = new int[z.length];
        for (int i = 0; i < z.length; i++) {
            zi[i] = (int) z[i];
        }
        return PackedInt4.tensors(outLayer, rows, cols, groupSize, ci, layout.fuseRows(name, scales, groups), zi);
    }

    /**
     * A fused tensor (Phi-3 qkv_proj, BLOOM query_key_value) in the family's layout: each part takes
     * its profile's variant (dequantized) or stays dense, and the parts are fused again.
     */
    private static CheckpointWriter.Tensor fused(CheckpointReader dense, VariantSource variants, Profile profile,
                                                 TensorLayout layout, String name, String outName,
                                                 Map<String, Integer> packedGroups, IntConsumer progress, int[] written) {
        for (String part : layout.parts(name)) {
            String layer = part.endsWith(".weight") ? part.substring(0, part.length() - ".weight".length()) : null;
            if (layer != null && packedGroups.containsKey(layer)) {
                throw new EvocompressException("Layer " + layer + " is stored fused in " + name
                    + ", which cannot be written packed (int4); export it without packing.");
            }
        }
        return new CheckpointWriter.Tensor(outName, layout.shape(name), () -> {
            Map<String, float[]> denseParts = layout.split(name, dense.readFloat(name));
            float[] data = layout.fuse(name, part -> {
                Integer level = part.endsWith(".weight")
                    ? profile.levels().get(part.substring(0, part.length() - ".weight".length())) : null;
                return level == null ? denseParts.get(part)
                    : variants.variant(part.substring(0, part.length() - ".weight".length()), level).dense();
            });
            if (progress != null) {
                progress.accept(++written[0]);
            }
            return data;
        });
    }

    private static String configWithLayers(String configJson, int kept, int[] newIndex, String layerCountKey) {
        try {
            ObjectNode node = (ObjectNode) JSON.readTree(configJson);
            node.put(layerCountKey, kept);
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
