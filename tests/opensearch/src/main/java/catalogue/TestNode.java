package catalogue;

import java.util.List;
import java.util.Map;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node, its settings given as key=value arguments, with the plugins the
 * catalogue's index needs taken from the classpath (no plugin directory, no security
 * manager). It runs until its standard input closes (so it ends with the process that
 * started it, however that ends) or its process is stopped.
 */
public final class TestNode extends Node {
    // Settings whose value is a list, given comma-separated.
    private static final List<String> LISTS = List.of("discovery.seed_hosts", "cluster.initial_cluster_manager_nodes");

    private TestNode(Settings settings) {
        super(InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> settings.get("node.name")),
              List.of(Netty4Plugin.class, CommonAnalysisPlugin.class), true);
    }

    public static void main(String[] args) throws Exception {
        Settings.Builder settings = Settings.builder();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("expected key=value, got " + arg);
            }
            String key = arg.substring(0, eq);
            String value = arg.substring(eq + 1);
            if (LISTS.contains(key)) {
                settings.putList(key, value.split(","));
            } else {
                settings.put(key, value);
            }
        }
        Node node = new TestNode(settings.build());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        node.start();
        System.out.println("started " + settings.get("node.name"));
        System.out.flush();
        while (System.in.read() != -1) {
            // nothing is sent: only the end of the input counts
        }
        System.exit(0);
    }
}
