//! Bindings to the Durable Object runtime that the `worker` crate does not expose:
//! `storage.transactionSync` (one atomic transaction around a broker call),
//! `getWebSocketAutoResponseTimestamp` (a consumer's last `ping` answered by the runtime)
//! and `setWebSocketAutoResponse` without the crate's `unwrap`.

use wasm_bindgen::prelude::*;
use worker::State;

#[wasm_bindgen]
extern "C" {
    /// `DurableObjectStorage`, seen through the methods used here.
    #[wasm_bindgen(extends = js_sys::Object)]
    #[derive(Clone)]
    type RawStorage;

    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &RawStorage,
        f: &mut dyn FnMut() -> Result<JsValue, JsValue>,
    ) -> Result<JsValue, JsValue>;

    /// `DurableObjectState`, seen through the methods used here.
    #[wasm_bindgen(extends = js_sys::Object)]
    #[derive(Clone)]
    type RawState;

    #[wasm_bindgen(method, catch, js_name = getWebSocketAutoResponseTimestamp)]
    fn auto_response_timestamp(
        this: &RawState,
        ws: &worker::worker_sys::web_sys::WebSocket,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = setWebSocketAutoResponse)]
    fn set_auto_response(
        this: &RawState,
        pair: &worker::worker_sys::WebSocketRequestResponsePair,
    ) -> Result<(), JsValue>;
}

/// The runtime handles of one object.
#[derive(Clone)]
pub struct Runtime {
    state: RawState,
    storage: RawStorage,
}

impl Runtime {
    /// Takes the raw handles of `state` (the crate hands the inner object out by value
    /// only, so it is taken and put back).
    pub fn new(state: State) -> (State, Option<Runtime>) {
        let raw = state._inner();
        let storage = raw.storage().ok();
        let rt =
            storage.map(|s| Runtime { state: raw.clone().unchecked_into(), storage: s.unchecked_into() });
        (State::from(raw), rt)
    }

    /// Runs `f` in one storage transaction: if it fails, every write it made is rolled
    /// back.
    pub fn transaction<R, E>(&self, f: impl FnOnce() -> Result<R, E>) -> Result<R, TxError<E>> {
        let mut f = Some(f);
        let mut out: Option<Result<R, E>> = None;
        let mut run = || -> Result<JsValue, JsValue> {
            let Some(f) = f.take() else { return Err(JsValue::from_str("transaction ran twice")) };
            let r = f();
            let failed = r.is_err();
            out = Some(r);
            if failed {
                Err(JsValue::from_str("rolled back"))
            } else {
                Ok(JsValue::UNDEFINED)
            }
        };
        let result = self.storage.transaction_sync(&mut run);
        match (out, result) {
            (Some(Ok(r)), Ok(_)) => Ok(r),
            (Some(Err(e)), _) => Err(TxError::Call(e)),
            (_, Err(js)) => Err(TxError::Runtime(js.as_string().unwrap_or_else(|| format!("{js:?}")))),
            (None, Ok(_)) => Err(TxError::Runtime("transaction did not run".into())),
        }
    }

    /// When the runtime last answered this socket's `ping` by itself, in ms.
    pub fn last_auto_pong(&self, ws: &worker::WebSocket) -> Option<u64> {
        let v = self.state.auto_response_timestamp(ws.as_ref()).ok()?;
        let date: js_sys::Date = v.dyn_into().ok()?;
        let t = date.get_time();
        (t.is_finite() && t > 0.0).then_some(t as u64)
    }

    /// Lets the runtime answer `{"op":"ping"}` with `{"op":"pong"}` without waking the
    /// object.
    pub fn answer_pings(&self) {
        if let Ok(pair) =
            worker::worker_sys::WebSocketRequestResponsePair::new(r#"{"op":"ping"}"#, r#"{"op":"pong"}"#)
        {
            let _ = self.state.set_auto_response(&pair);
        }
    }
}

/// Why a transaction failed.
#[derive(Debug)]
pub enum TxError<E> {
    /// The call failed (and was rolled back).
    Call(E),
    /// The runtime refused the transaction.
    Runtime(String),
}

impl From<TxError<crate::core::StoreError>> for crate::core::StoreError {
    fn from(e: TxError<crate::core::StoreError>) -> Self {
        match e {
            TxError::Call(e) => e,
            TxError::Runtime(m) => crate::core::StoreError::other(m),
        }
    }
}
