// Live page, kiosk mode (?kiosk=1): show the next of the charts the server drew
// (dashboard/pages/live.py kiosk_view, all of them in the store "kiosk-views"). Runs in the
// browser, so cycling through the charts sends nothing over the network.
window.dash_clientside = window.dash_clientside || {};
window.dash_clientside.reach = Object.assign(window.dash_clientside.reach || {}, {
    kioskStep: function (n, views) {
        if (!Array.isArray(views) || views.length === 0) {
            return [window.dash_clientside.no_update, window.dash_clientside.no_update];
        }
        var view = views[(n || 0) % views.length];
        return [view.figure, view.caption];
    }
});
