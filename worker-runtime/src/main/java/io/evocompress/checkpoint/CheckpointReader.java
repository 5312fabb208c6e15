package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face checkpoint directory on any Hadoop file system: {@code config.json} plus either
 * {@code model.safetensors} or a sharded {@code model.safetensors.index.json}. Hides which of the two
 * it is; tensors are read one at a time. Hides too whether the tensors were saved from the causal-LM
 * class or from its base model without the base model's prefix ({@link TensorNaming}, detected once
 * from the tensor index by {@link io.evocompress.model.CheckpointNaming}): every tensor is named here by
 * its full name ({@code model.layers.0.self_attn.q_proj.weight}) and read under its stored one.
 */
public final class CheckpointReader implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** Files copied along with the weights when a checkpoint is rewritten. */
    public static final List<String> SIDE_FILES = List.of(
        "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json", "generation_config.json");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileSystem fs;
    private final Path dir;
    private final String configJson;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> owner;   // full name -> file
    private final TensorNaming naming;

    private CheckpointReader(FileSystem fs, Path dir, String configJson, List<SafetensorsFile> files,
                             Map<String, SafetensorsFile> owner, TensorNaming naming) {
        this.fs = fs;
        this.dir = dir;
        this.configJson = configJson;
        this.files = files;
        this.owner = owner;
        this.naming = naming;
    }

    public static CheckpointReader open(String location) {
        return open(HadoopFiles.path(location), HadoopFiles.defaultConf());
    }

    public static CheckpointReader open(Path dir, Configuration conf) {
        FileSystem fs = HadoopFiles.fileSystem(dir, conf);
        if (!HadoopFiles.exists(fs, dir)) {
            throw new EvocompressException("Checkpoint directory " + dir + " does not exist.");
        }
        String config = HadoopFiles.readUtf8(fs, new Path(dir, CONFIG),
            "model config (a Hugging Face checkpoint directory needs config.json)");
        Path index = new Path(dir, INDEX_FILE);
        Path single = new Path(dir, SINGLE_FILE);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        TensorNaming naming;
        try {
            if (HadoopFiles.exists(fs, index)) {
                Map<String, String> weightMap = readWeightMap(fs, index);
                Map<String, SafetensorsFile> byShard = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    SafetensorsFile shard = byShard.get(e.getValue());
                    if (shard == null) {
                        shard = SafetensorsFile.open(fs, new Path(dir, e.getValue()));
                        byShard.put(e.getValue(), shard);
                        files.add(shard);
                    }
                    if (!shard.tensors().containsKey(e.getKey())) {
                        throw new EvocompressException(index + " maps tensor '" + e.getKey() + "' to " + shard.path()
                            + ", which does not hold it.");
                    }
                    owner.put(e.getKey(), shard);
                }
            } else if (HadoopFiles.exists(fs, single)) {
                SafetensorsFile file = SafetensorsFile.open(fs, single);
                files.add(file);
                file.tensors().keySet().forEach(name -> owner.put(name, file));
            } else {
                throw new EvocompressException("Checkpoint " + dir + " has no weights: expected " + SINGLE_FILE
                    + " or " + INDEX_FILE + ".");
            }
            naming = io.evocompress.model.CheckpointNaming.detect(config, owner);
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        Map<String, SafetensorsFile> byName = owner;
        if (!naming.full()) {
            byName = new LinkedHashMap<>();
            for (Map.Entry<String, SafetensorsFile> e : owner.entrySet()) {
                byName.put(naming.name(e.getKey()), e.getValue());
            }
        }
        return new CheckpointReader(fs, dir, config, files, Collections.unmodifiableMap(byName), naming);
    }

    private static Map<String, String> readWeightMap(FileSystem fs, Path index) {
        String text = HadoopFiles.readUtf8(fs, index, "shard index");
        JsonNode map;
        try {
            map = JSON.readTree(text).get("weight_map");
        } catch (IOException e) {
            throw new EvocompressException(index + " is not valid JSON: " + e.getMessage(), e);
        }
        if (map == null || !map.isObject()) {
            throw new EvocompressException(index + " has no 'weight_map' object.");
        }
        Map<String, String> out = new LinkedHashMap<>();
        map.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    public FileSystem fileSystem() {
        return fs;
    }

    public Path dir() {
        return dir;
    }

    /** The raw text of config.json. */
    public String configJson() {
        return configJson;
    }

    public boolean isSharded() {
        return files.size() > 1 || HadoopFiles.exists(fs, new Path(dir, INDEX_FILE));
    }

    /** Full tensor name -> the file holding it. */
    public Map<String, SafetensorsFile> tensorFiles() {
        return owner;
    }

    /** How this checkpoint's stored names relate to the full ones (write a derived checkpoint the same way). */
    public TensorNaming naming() {
        return naming;
    }

    public boolean has(String name) {
        return owner.containsKey(name);
    }

    /** The header entry of a tensor by full name (its {@link TensorInfo#name} is the stored name). */
    public TensorInfo info(String name) {
        return file(name).info(naming.stored(name));
    }

    public SafetensorsFile file(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw new EvocompressException("Checkpoint " + dir + " is missing tensor '" + naming.stored(name) + "'.");
        }
        return f;
    }

    public float[] readFloat(String name) {
        return file(name).readFloat(info(name));
    }

    /** {@link SafetensorsFile#readFloat(TensorInfo, java.security.MessageDigest)}: the values, the raw bytes hashed as read. */
    public float[] readFloat(String name, java.security.MessageDigest digest) {
        return file(name).readFloat(info(name), digest);
    }

    /**
     * Rows {@code [row0, row0 + rows)} of a tensor in float32 ({@link SafetensorsFile#readRowsAsFloat(TensorInfo,
     * long, int, java.security.MessageDigest)}), their raw bytes fed to {@code digest} when not null.
     */
    public float[] readRows(String name, long row0, int rows, java.security.MessageDigest digest) {
        return file(name).readRowsAsFloat(info(name), row0, rows, digest);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
