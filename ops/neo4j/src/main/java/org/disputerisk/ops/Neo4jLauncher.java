package org.disputerisk.ops;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Runs Neo4j Community (embedded DBMS) with the Bolt connector only, for development and tests.
 *
 * <p>Environment: NEO4J_HOME_DIR (data and logs; default var/neo4j/dbms), NEO4J_BOLT_HOST (default
 * 127.0.0.1), NEO4J_BOLT_PORT (default 7687), NEO4J_PASSWORD (default dispute-dev-pass),
 * NEO4J_PAGECACHE (default 512m), NEO4J_TX_MEMORY (default 256m). Authentication is always on.
 * SIGTERM shuts the DBMS down cleanly through a shutdown hook.
 */
public final class Neo4jLauncher {

    private Neo4jLauncher() {}

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(env("NEO4J_HOME_DIR", "var/neo4j/dbms")).toAbsolutePath();
        Files.createDirectories(home);
        String host = env("NEO4J_BOLT_HOST", "127.0.0.1");
        int port = Integer.parseInt(env("NEO4J_BOLT_PORT", "7687"));
        String password = env("NEO4J_PASSWORD", "dispute-dev-pass");

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(env("NEO4J_PAGECACHE", "512m")))
                .setConfig(
                        GraphDatabaseSettings.memory_transaction_global_max_size,
                        ByteUnit.parse(env("NEO4J_TX_MEMORY", "256m")))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "2 files")
                // Frequent checkpoints keep crash recovery short (a development server gets killed).
                .setConfig(GraphDatabaseSettings.check_point_interval_time, Duration.ofSeconds(30))
                .setConfig(GraphDatabaseSettings.check_point_interval_tx, 2000)
                .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(5))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("neo4j-launcher: shutting down");
            dbms.shutdown();
            System.out.println("neo4j-launcher: stopped");
        }, "neo4j-shutdown"));

        setPassword(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), password);
        System.out.println("neo4j-launcher: ready, bolt://" + host + ":" + port + " home " + home);
        Thread.currentThread().join();
    }

    /** Sets the neo4j user's password; setting the same password again is not an error. */
    private static void setPassword(GraphDatabaseService system, String password) {
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
            System.out.println("neo4j-launcher: password of user neo4j set");
        } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            if (message.contains("cannot be the same")) {
                System.out.println("neo4j-launcher: password of user neo4j unchanged");
            } else {
                throw e;
            }
        }
    }
}
