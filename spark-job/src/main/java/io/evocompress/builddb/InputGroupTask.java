package io.evocompress.builddb;

import io.evocompress.calibration.InputGroup;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One Spark task of a database build: the layers of one block that read one input (q, k, v; gate,
 * up; o; down) and so share one Hessian, built from one factorisation of it ({@link BuildLayer}).
 *
 * @param layers the group's layers still to build, in the model's layer order
 */
public record InputGroupTask(int block, InputGroup group, List<LayerTask> layers) implements Serializable {
    public InputGroupTask {
        layers = List.copyOf(layers);
        for (LayerTask t : layers) {
            if (t.block() != block || InputGroup.of(t.linear()) != group) {
                throw new IllegalArgumentException(t.unit() + " does not read block " + block + "'s " + group + " input");
            }
        }
    }

    /** {@code layers} grouped by (block, input group), groups in the order of their first layer. */
    public static List<InputGroupTask> of(List<LayerTask> layers) {
        Map<String, List<LayerTask>> groups = new LinkedHashMap<>();
        for (LayerTask t : layers) {
            groups.computeIfAbsent(t.block() + "/" + InputGroup.of(t.linear()), k -> new ArrayList<>()).add(t);
        }
        List<InputGroupTask> out = new ArrayList<>();
        for (List<LayerTask> g : groups.values()) {
            out.add(new InputGroupTask(g.get(0).block(), InputGroup.of(g.get(0).linear()), g));
        }
        return out;
    }
}
