"""The MSISDN gateway: phone-number verification by SMS and BrowserID certificates for
verified numbers (msisdn-and-auth.md §1, decisions D20-D24). Its own ASGI app
(:func:`loop.msisdn.app.create_gateway_app`, console command ``loop-msisdn``), or mounted
into the Loop server (:func:`loop.msisdn.app.mount_gateway`)."""
