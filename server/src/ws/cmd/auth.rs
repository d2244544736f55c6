//! `auth` (contract §3.1): authenticates a connection that has not, or
//! re-confirms the same identity; any other token is refused with
//! `auth_error` (`NOT_FOUND` for a visitor of a removed bot).

use protocol::frames::{AuthFrame, ServerFrame};
use protocol::ErrorCode;

use crate::ws::connection::{Connection, Flow};

pub(in crate::ws) async fn apply(a: AuthFrame, conn: &mut Connection) -> Flow {
    let engine = conn.engine();
    let identified = engine.admission.identify(&a.token).await;
    match (conn.who().cloned(), identified) {
        (None, Ok(who)) => conn.authenticate(who).await,
        (Some(current), Ok(who)) if who.user_id == current.user_id => match engine.accounts.user(&current).await {
            Ok(user) => {
                conn.send_frame(ServerFrame::AuthSuccess {
                    message: "Authentication successful".into(),
                    user,
                })
                .await
            }
            Err(e) => conn.error(&e, None).await,
        },
        (_, result) => {
            let code = result.err().map(|e| e.code).filter(|c| *c == ErrorCode::NotFound);
            conn.send_frame(ServerFrame::AuthError {
                message: "Invalid token".into(),
                code,
            })
            .await
        }
    }
}
