//! The HTTP application assembled in one place: one router built from the Particle route
//! table ([`PARTICLE_ROUTES`]) and the control table ([`control::routes`]), each row's
//! handler wrapped in its pipeline [`Stage`], every unmatched request answered by
//! [`unrouted`], and the [`Pipeline`] in front of it all.

use axum::routing::MethodRouter;
use axum::Router;

use crate::http::pipeline::{unrouted, Pipeline, Stage};
use crate::http::routes::{control, endpoint, PARTICLE_ROUTES};
use crate::http::state::AppState;

/// The whole service: the router (Particle rows, control rows, the fallback for the rest)
/// inside the pipeline.
pub(crate) fn app(state: AppState) -> Pipeline {
    let router = PARTICLE_ROUTES.iter().fold(Router::new(), |router, route| {
        router.route(
            route.path,
            endpoint(route).route_layer(Stage::particle(&state, route)),
        )
    });
    let router = control::routes()
        .into_iter()
        .fold(
            router,
            |router, (_, path, handler): (_, _, MethodRouter<AppState>)| {
                router.route(path, handler.route_layer(Stage::control(&state)))
            },
        )
        .fallback(unrouted)
        .method_not_allowed_fallback(unrouted)
        .with_state(state.clone());
    // The pipeline wraps the router (not `Router::layer`, which runs after routing): it
    // must rewrite tenant paths before the router sees them.
    Pipeline::new(state, router)
}
