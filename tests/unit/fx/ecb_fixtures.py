"""Small files in the ECB's real ``eurofxref`` formats (the values are illustrative)."""

ECB_DAILY = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2024-01-05'>
\t\t\t<Cube currency='USD' rate='1.0921'/>
\t\t\t<Cube currency='JPY' rate='158.08'/>
\t\t\t<Cube currency='BGN' rate='1.9558'/>
\t\t\t<Cube currency='CZK' rate='24.676'/>
\t\t\t<Cube currency='GBP' rate='0.86040'/>
\t\t\t<Cube currency='TRY' rate='32.6160'/>
\t\t\t<Cube currency='AUD' rate='1.6321'/>
\t\t\t<Cube currency='BRL' rate='5.3677'/>
\t\t\t<Cube currency='CNY' rate='7.8168'/>
\t\t\t<Cube currency='IDR' rate='16984.05'/>
\t\t\t<Cube currency='INR' rate='90.8155'/>
\t\t\t<Cube currency='KRW' rate='1435.41'/>
\t\t\t<Cube currency='ZAR' rate='20.4437'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""

ECB_HISTORICAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time="2024-01-05">
\t\t\t<Cube currency="USD" rate="1.0921"/>
\t\t\t<Cube currency="JPY" rate="158.08"/>
\t\t</Cube>
\t\t<Cube time="2024-01-04">
\t\t\t<Cube currency="USD" rate="1.0953"/>
\t\t\t<Cube currency="JPY" rate="157.50"/>
\t\t</Cube>
\t\t<Cube time="2022-02-28">
\t\t\t<Cube currency="USD" rate="1.1240"/>
\t\t\t<Cube currency="RUB" rate="117.2010"/>
\t\t\t<Cube currency="HRK" rate="7.5640"/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""
