<?php
/**
 * Plugin Name:       briefcast
 * Plugin URI:        https://github.com/briefcast/briefcast
 * Description:       Audio editions of your posts: every published, updated, unpublished or deleted post is sent to your briefcast service as a signed webhook, and the briefcast player is shown at the top of posts.
 * Version:           0.1.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * License:           GPL-3.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-3.0.html
 * Text Domain:       briefcast
 *
 * @package briefcast
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'BRIEFCAST_OPTION', 'briefcast_settings' );
define( 'BRIEFCAST_VERSION', '0.1.0' );

/**
 * The plugin's settings, with defaults.
 *
 * @return array{service_url: string, source: string, secret: string, auto_insert: bool}
 */
function briefcast_settings() {
	$saved = get_option( BRIEFCAST_OPTION, array() );
	$saved = is_array( $saved ) ? $saved : array();
	return array(
		'service_url' => isset( $saved['service_url'] ) ? untrailingslashit( (string) $saved['service_url'] ) : '',
		'source'      => isset( $saved['source'] ) && '' !== $saved['source'] ? (string) $saved['source'] : 'wordpress',
		'secret'      => isset( $saved['secret'] ) ? (string) $saved['secret'] : '',
		'auto_insert' => ! isset( $saved['auto_insert'] ) || (bool) $saved['auto_insert'],
	);
}

/**
 * The id briefcast knows a post by (its externalId): the player and the webhooks use it.
 *
 * @param WP_Post $post The post.
 * @return string
 */
function briefcast_external_id( $post ) {
	$blog = is_multisite() ? get_current_blog_id() . '-' : '';
	return 'wp-' . $blog . $post->ID;
}

/**
 * Post types whose posts get audio (filter: briefcast_post_types).
 *
 * @return string[]
 */
function briefcast_post_types() {
	return (array) apply_filters( 'briefcast_post_types', array( 'post' ) );
}

/* ---------------------------------------------------------------------------
 * Settings page: Settings > briefcast.
 * ------------------------------------------------------------------------ */

add_action( 'admin_menu', 'briefcast_admin_menu' );
add_action( 'admin_init', 'briefcast_register_settings' );

/**
 * Adds Settings > briefcast.
 */
function briefcast_admin_menu() {
	add_options_page( __( 'briefcast', 'briefcast' ), __( 'briefcast', 'briefcast' ), 'manage_options', 'briefcast', 'briefcast_render_settings_page' );
}

/**
 * Registers the settings and their fields.
 */
function briefcast_register_settings() {
	register_setting(
		'briefcast',
		BRIEFCAST_OPTION,
		array(
			'type'              => 'array',
			'sanitize_callback' => 'briefcast_sanitize_settings',
			'default'           => array(),
		)
	);
	add_settings_section( 'briefcast_main', __( 'Service', 'briefcast' ), '__return_false', 'briefcast' );
	$fields = array(
		'service_url' => __( 'Service URL', 'briefcast' ),
		'source'      => __( 'Source id', 'briefcast' ),
		'secret'      => __( 'Source secret', 'briefcast' ),
		'auto_insert' => __( 'Player at the top of posts', 'briefcast' ),
	);
	foreach ( $fields as $key => $label ) {
		add_settings_field( 'briefcast_' . $key, $label, 'briefcast_render_field', 'briefcast', 'briefcast_main', array( 'key' => $key ) );
	}
}

/**
 * Cleans the submitted settings; an empty secret field keeps the stored secret.
 *
 * @param mixed $input The submitted values.
 * @return array
 */
function briefcast_sanitize_settings( $input ) {
	$input   = is_array( $input ) ? $input : array();
	$current = briefcast_settings();
	$url     = isset( $input['service_url'] ) ? esc_url_raw( trim( (string) $input['service_url'] ), array( 'http', 'https' ) ) : '';
	$source  = isset( $input['source'] ) ? strtolower( preg_replace( '/[^a-z0-9-]/i', '', (string) $input['source'] ) ) : '';
	$secret  = isset( $input['secret'] ) ? trim( (string) $input['secret'] ) : '';
	return array(
		'service_url' => untrailingslashit( $url ),
		'source'      => '' !== $source ? $source : 'wordpress',
		'secret'      => '' !== $secret ? $secret : $current['secret'],
		'auto_insert' => ! empty( $input['auto_insert'] ),
	);
}

/**
 * Renders one settings field.
 *
 * @param array $args The field's key.
 */
function briefcast_render_field( $args ) {
	$settings = briefcast_settings();
	$key      = $args['key'];
	$name     = BRIEFCAST_OPTION . '[' . $key . ']';
	if ( 'auto_insert' === $key ) {
		printf( '<label><input type="checkbox" name="%s" value="1" %s> %s</label>', esc_attr( $name ), checked( $settings['auto_insert'], true, false ), esc_html__( 'Insert the player automatically (otherwise use [briefcast_player] or briefcast_player() in a template).', 'briefcast' ) );
		return;
	}
	if ( 'secret' === $key ) {
		// The secret is never printed back into the page.
		printf( '<input type="password" class="regular-text" name="%s" value="" autocomplete="off" placeholder="%s">', esc_attr( $name ), esc_attr( '' !== $settings['secret'] ? __( 'saved (leave empty to keep)', 'briefcast' ) : '' ) );
		return;
	}
	printf( '<input type="%s" class="regular-text" name="%s" value="%s">', 'service_url' === $key ? 'url' : 'text', esc_attr( $name ), esc_attr( $settings[ $key ] ) );
}

/**
 * Renders Settings > briefcast.
 */
function briefcast_render_settings_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	echo '<div class="wrap"><h1>' . esc_html__( 'briefcast', 'briefcast' ) . '</h1>';
	echo '<p>' . esc_html__( 'Create a source in briefcast (POST /api/sources with {"id": "wordpress", "kind": "webhook"}) and paste its secret here.', 'briefcast' ) . '</p>';
	echo '<form action="options.php" method="post">';
	settings_fields( 'briefcast' );
	do_settings_sections( 'briefcast' );
	submit_button();
	echo '</form></div>';
}

/* ---------------------------------------------------------------------------
 * Webhooks: publish / update / unpublish / delete.
 * ------------------------------------------------------------------------ */

add_action( 'transition_post_status', 'briefcast_on_transition', 10, 3 );
add_action( 'before_delete_post', 'briefcast_on_delete', 10, 1 );

/**
 * Published (or scheduled: briefcast renders it ahead and keeps it private until its time) or updated: upsert.
 * Taken out of publication (draft, private, pending, trash): delete.
 *
 * @param string  $new_status New status.
 * @param string  $old_status Old status.
 * @param WP_Post $post       The post.
 */
function briefcast_on_transition( $new_status, $old_status, $post ) {
	if ( ! in_array( $post->post_type, briefcast_post_types(), true ) || wp_is_post_revision( $post ) || wp_is_post_autosave( $post ) ) {
		return;
	}
	$public = array( 'publish', 'future' );
	if ( in_array( $new_status, $public, true ) ) {
		briefcast_send( 'upsert', $post );
	} elseif ( in_array( $old_status, $public, true ) ) {
		briefcast_send( 'delete', $post );
	}
}

/**
 * A post deleted for good.
 *
 * @param int $post_id The post id.
 */
function briefcast_on_delete( $post_id ) {
	$post = get_post( $post_id );
	if ( $post && in_array( $post->post_type, briefcast_post_types(), true ) && in_array( $post->post_status, array( 'publish', 'future' ), true ) ) {
		briefcast_send( 'delete', $post );
	}
}

/**
 * The webhook body for a post.
 *
 * @param string  $event upsert or delete.
 * @param WP_Post $post  The post.
 * @return array
 */
function briefcast_payload( $event, $post ) {
	$body = array(
		'event'      => $event,
		'externalId' => briefcast_external_id( $post ),
	);
	if ( 'delete' === $event ) {
		return $body;
	}
	// The post as readers see it, without the player this plugin adds to it.
	remove_filter( 'the_content', 'briefcast_filter_content', 20 );
	$html = apply_filters( 'the_content', $post->post_content );
	add_filter( 'the_content', 'briefcast_filter_content', 20 );
	$categories = array();
	foreach ( get_the_category( $post->ID ) as $term ) {
		$categories[] = $term->name;
	}
	$author = get_the_author_meta( 'display_name', (int) $post->post_author );
	return $body + array(
		'url'         => get_permalink( $post ),
		'title'       => html_entity_decode( get_the_title( $post ), ENT_QUOTES, 'UTF-8' ),
		'html'        => $html,
		'publishedAt' => get_post_time( 'c', true, $post ),
		'author'      => '' !== $author ? $author : null,
		'language'    => str_replace( '_', '-', get_locale() ),
		'categories'  => $categories,
	);
}

/**
 * Sends one signed delivery: Briefcast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
 * A failed attempt (network or 5xx) is retried twice with the same Briefcast-Delivery id, so briefcast does it once.
 *
 * @param string  $event upsert or delete.
 * @param WP_Post $post  The post.
 * @return bool Whether briefcast accepted it.
 */
function briefcast_send( $event, $post ) {
	$settings = briefcast_settings();
	if ( '' === $settings['service_url'] || '' === $settings['secret'] ) {
		return false;
	}
	$body     = wp_json_encode( briefcast_payload( $event, $post ) );
	$delivery = wp_generate_uuid4();
	$url      = $settings['service_url'] . '/api/hooks/' . rawurlencode( $settings['source'] );
	$status   = 0;
	for ( $attempt = 0; $attempt < 3; $attempt++ ) {
		if ( $attempt > 0 ) {
			sleep( $attempt );
		}
		$t        = time();
		$response = wp_remote_post(
			$url,
			array(
				'timeout' => 20,
				'headers' => array(
					'Content-Type'        => 'application/json',
					'Briefcast-Delivery'  => $delivery,
					'Briefcast-Signature' => 't=' . $t . ',v1=' . hash_hmac( 'sha256', $t . '.' . $body, $settings['secret'] ),
				),
				'body'    => $body,
			)
		);
		$status = is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response );
		if ( $status > 0 && $status < 500 ) {
			break;
		}
	}
	update_post_meta( $post->ID, '_briefcast_last_delivery', array( 'event' => $event, 'status' => $status, 'time' => time() ) );
	return $status >= 200 && $status < 300;
}

/* ---------------------------------------------------------------------------
 * The player: automatic at the top of posts, [briefcast_player], briefcast_player().
 * ------------------------------------------------------------------------ */

add_filter( 'the_content', 'briefcast_filter_content', 20 );
add_shortcode( 'briefcast_player', 'briefcast_shortcode' );
add_filter( 'script_loader_tag', 'briefcast_defer_script', 10, 2 );

/**
 * The player's HTML for a post (empty when the plugin is not set up or the post is not published).
 *
 * @param int|WP_Post|null $post The post; the current one by default.
 * @return string
 */
function briefcast_player_html( $post = null ) {
	$post     = get_post( $post );
	$settings = briefcast_settings();
	if ( ! $post || '' === $settings['service_url'] || 'publish' !== $post->post_status || ! in_array( $post->post_type, briefcast_post_types(), true ) ) {
		return '';
	}
	wp_enqueue_script( 'briefcast-player', $settings['service_url'] . '/player.js', array(), null, true );
	return '<briefcast-player article="' . esc_attr( briefcast_external_id( $post ) ) . '"></briefcast-player>';
}

/**
 * Template tag: prints the player for the current (or given) post.
 *
 * @param int|WP_Post|null $post The post.
 */
function briefcast_player( $post = null ) {
	echo briefcast_player_html( $post ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts.
}

/**
 * [briefcast_player] or [briefcast_player post="123"].
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function briefcast_shortcode( $atts ) {
	$atts = shortcode_atts( array( 'post' => 0 ), $atts, 'briefcast_player' );
	return briefcast_player_html( $atts['post'] ? (int) $atts['post'] : null );
}

/**
 * Puts the player at the top of the post on its own page (not in lists, feeds or excerpts).
 *
 * @param string $content The post content.
 * @return string
 */
function briefcast_filter_content( $content ) {
	$settings = briefcast_settings();
	if ( ! $settings['auto_insert'] || is_feed() || ! is_singular( briefcast_post_types() ) || ! is_main_query() || get_the_ID() !== get_queried_object_id() ) {
		return $content;
	}
	if ( has_shortcode( $content, 'briefcast_player' ) || false !== strpos( $content, '<briefcast-player' ) ) {
		return $content;
	}
	return briefcast_player_html() . $content;
}

/**
 * Loads the player script with defer.
 *
 * @param string $tag    The script tag.
 * @param string $handle Its handle.
 * @return string
 */
function briefcast_defer_script( $tag, $handle ) {
	if ( 'briefcast-player' !== $handle || false !== strpos( $tag, ' defer' ) ) {
		return $tag;
	}
	return str_replace( ' src=', ' defer src=', $tag );
}
